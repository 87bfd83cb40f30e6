"""The keep-alive transport over TLS: certificates and host names are verified, and a refused
certificate is a retryable failure that sends nothing."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pushgate.delivery.transport.keepalive import KeepAliveTransport
from pushgate.delivery.outcomes import OutcomeKind
from tests.delivery.push_fakes import SHORT_TIMEOUTS, Browser, MeetingPoint, loopback_policy, loopback_push_service, make_client


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    signer: ec.EllipticCurvePrivateKey,
    san: list[x509.GeneralName] | None,
) -> x509.Certificate:
    """A CA certificate when `issuer` is None, else a server certificate it signs. Python 3.13
    verifies strictly (VERIFY_X509_STRICT), hence the key identifiers and usages."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(subject) if ca else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1, and one for another name."""
    directory = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("pushgate test CA", ca_key, None, ca_key, None)
    paths = {"ca": directory / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for label, san in {"loopback": [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], "other": [x509.DNSName("push.example.net")]}.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(label, key, ca, ca_key, san)
        path = directory / f"{label}.pem"
        path.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        paths[label] = path
    return paths


def server_context(chain: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return context


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


@pytest.fixture
def https_service(pki: dict[str, Path], request: pytest.FixtureRequest) -> Iterator:
    with loopback_push_service(tls=server_context(pki[request.param])) as service:
        yield service


@pytest.mark.parametrize("https_service", ["loopback"], indirect=True)
def test_a_verified_push_service_gets_the_messages_over_one_connection(https_service, pki: dict[str, Path]) -> None:  # noqa: ANN001
    transport = KeepAliveTransport(2, tls_context=trusting(pki["ca"]))
    client = make_client(transport, policy=loopback_policy(https_service.port), timeouts=SHORT_TIMEOUTS)
    endpoint = f"https://127.0.0.1:{https_service.port}/push/x"

    outcomes = [client.send(Browser().delivery(endpoint=endpoint)) for _ in range(3)]

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 3
    assert len(https_service.received) == 3 and https_service.connections == 1


@pytest.mark.parametrize("https_service", ["loopback"], indirect=True)
def test_an_untrusted_certificate_sends_nothing(https_service) -> None:  # noqa: ANN001
    # The default context trusts the public CAs (certifi), not our test CA.
    client = make_client(KeepAliveTransport(1), policy=loopback_policy(https_service.port), timeouts=SHORT_TIMEOUTS)
    outcome = client.send(Browser().delivery(endpoint=f"https://127.0.0.1:{https_service.port}/push/x"))
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail == "SSLCertVerificationError"
    assert https_service.received == []


@pytest.mark.parametrize("https_service", ["other"], indirect=True)
def test_a_certificate_for_another_host_sends_nothing(https_service, pki: dict[str, Path]) -> None:  # noqa: ANN001
    transport = KeepAliveTransport(1, tls_context=trusting(pki["ca"]))
    client = make_client(transport, policy=loopback_policy(https_service.port), timeouts=SHORT_TIMEOUTS)
    outcome = client.send(Browser().delivery(endpoint=f"https://127.0.0.1:{https_service.port}/push/x"))
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail == "SSLCertVerificationError"
    assert https_service.received == []


def test_handshakes_and_requests_are_in_flight_together_over_tls(pki: dict[str, Path]) -> None:
    # Given an HTTPS push service that answers only when three requests are waiting at once
    meeting = MeetingPoint(parties=3)
    with loopback_push_service(meeting, tls=server_context(pki["loopback"])) as service:
        client = make_client(KeepAliveTransport(3, tls_context=trusting(pki["ca"])), policy=loopback_policy(service.port), concurrency=3)
        browser = Browser()

        # When six messages are sent in one batch
        outcomes = client.send_many([browser.delivery(endpoint=f"https://127.0.0.1:{service.port}/push/{i}") for i in range(6)])

    # Then three TLS connections carried them, three at a time
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 6
    assert meeting.most_at_once == 3 and service.connections == 3
