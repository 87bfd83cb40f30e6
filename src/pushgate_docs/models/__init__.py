"""The HTTP wire contract (docs/api.md §0 `POST /sessions`, §2-§5) as pydantic v2 models.

These models exist only to document the API (docs/openapi.json is generated from them); the
Lambda functions never import them, so they cost no cold-start time. They are written from the
contract, not derived from the handlers, and tests/contract/test_openapi.py checks the real
handlers' responses against them.

Conventions:
- Request models ignore unknown fields, as the server does (docs/api.md §6).
- Response models forbid unknown fields, so a field the code starts returning without documenting
  it fails the contract tests.
- An optional field that is simply absent on the wire (never `null`) is declared with `absent()`.
"""

from __future__ import annotations

from pushgate_docs.models.base import (  # noqa: F401
    AuthSecret,
    BASE64URL_PATTERN,
    DeviceTypeName,
    EXAMPLE_AUTH,
    EXAMPLE_CHANNEL_ID,
    EXAMPLE_ENDPOINT,
    EXAMPLE_P256DH,
    Endpoint,
    EpochSeconds,
    P256dh,
    RequestModel,
    ResponseModel,
    SubscriptionStatusName,
    TOPIC_PATTERN,
    TopicName,
    UserId,
    absent,
)
from pushgate_docs.models.sessions import (  # noqa: F401
    CreateSessionRequest,
    CreateSessionResponse,
)
from pushgate_docs.models.account import (  # noqa: F401
    AccountError,
    AccountPushSubscribeBody,
    AccountPushSubscribeQuery,
    AccountPushUnsubscribeBody,
    AccountPushUnsubscribeQuery,
    AccountSubscribeData,
    AccountSubscribeResponse,
    AccountUnsubscribeData,
    AccountUnsubscribeResponse,
    SessionId,
)
from pushgate_docs.models.device import (  # noqa: F401
    ClientId,
    DeviceId,
    DeviceSubscribeRequest,
    DeviceUnsubscribeRequest,
    ImkitError,
    ImkitErrorDetail,
    ImkitResult,
    ImkitSuccess,
    PushSubscriptionJSON,
    PushSubscriptionKeys,
)
from pushgate_docs.models.sending import (  # noqa: F401
    DeviceRecord,
    DeviceResponse,
    DeviceToken,
    PushCounts,
    PushCreated,
    PushNotification,
    PushState,
    PushStatusResponse,
    PushyError,
    PushySuccess,
    SendPushRequest,
    TopicListResponse,
    TopicSubscribersResponse,
    TopicSummary,
    TopicsSubscribeRequest,
    TopicsUnsubscribeRequest,
)
from pushgate_docs.models.channels import (  # noqa: F401
    ChannelSubscription,
    ChannelSubscriptionDeleteRequest,
    ChannelSubscriptionList,
    ChannelSubscriptionSettings,
    ChannelSubscriptionUpsertRequest,
    NotiflowsError,
    NotiflowsErrorBody,
    NotiflowsErrorDetails,
    NotiflowsFieldError,
)
from pushgate_docs.models.parameters import (  # noqa: F401
    AccountPath,
    ChannelPath,
    DevicePath,
    NotiflowsRequestHeaders,
    PushPath,
    TopicPath,
    TopicSubscribersQuery,
)
from pushgate_docs.models.users import (  # noqa: F401
    ErasedCounts,
    MyDevice,
    MyDevicesQuery,
    MyDevicesResponse,
    MyDevicesResult,
    UserErasureResponse,
    UserPath,
    UserSubscription,
    UserSubscriptionsQuery,
    UserSubscriptionsResponse,
)
