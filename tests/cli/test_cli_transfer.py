"""`pushgate subscriptions export|import` (docs/import-export.md) on the moto account: what a record
holds, export from one app and import into another, re-import, rows refused with their line numbers,
the CSV formats, and the progress bar only on a terminal."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pushgate.models import Caller, DeviceType
from pushgate.services.subscriptions import Registration, WebSubscription
from pushgate_cli import transfer_commands
from tests.keys import browser_keys


def endpoint() -> str:
    return f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4()}"


def add_web(stack: Any, app_id: str, user_id: str, topics: tuple[str, ...] = (), device_id: str | None = None) -> dict[str, Any]:
    app = stack.services.repository.get_app(app_id)
    p256dh, auth = browser_keys()
    web = WebSubscription.parse(stack.services.subscriptions.policy, endpoint(), p256dh, auth)
    device = stack.services.subscriptions.register(Caller(app=app, user_id=user_id), Registration.web(web, device_id=device_id)).device
    if topics:
        stack.services.topics.subscribe(app, device.token, list(topics))
    return {"endpoint": web.endpoint, "keys": {"p256dh": p256dh, "auth": auth}}


def add_native(stack: Any, app_id: str, user_id: str, device_type: DeviceType, device_id: str) -> str:
    app = stack.services.repository.get_app(app_id)
    token = uuid.uuid4().hex * 2
    stack.services.subscriptions.subscribe_device(Caller(app=app, user_id=user_id), Registration(device_type, token, device_id=device_id))
    return token


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records without their dates (an import registers anew), in a stable order."""
    return sorted(({k: v for k, v in r.items() if k not in ("created_at", "updated_at")} for r in records),
                  key=lambda r: r.get("endpoint") or r.get("token"))


@pytest.fixture
def other_app(cli) -> dict[str, Any]:
    return cli("app", "create", "--name", "other", "--json").json


def test_export_writes_one_record_per_subscription_of_the_app_only(cli, stack, created_app, other_app):
    # Given a browser in two topics, an iPhone, a removed browser, and another app's browser
    app_id = created_app["app_id"]
    web = add_web(stack, app_id, "alice", topics=("news", "sports"))
    token = add_native(stack, app_id, "alice", DeviceType.IOS, "iphone-1")
    removed = add_web(stack, app_id, "bob")
    app = stack.services.repository.get_app(app_id)
    stack.services.subscriptions.unsubscribe_web(Caller(app=app, user_id="bob"), removed["endpoint"])
    add_web(stack, other_app["app_id"], "carol")
    # When the app is exported to stdout
    result = cli("subscriptions", "export", "--app", app_id)
    # Then stdout holds exactly its three records, and the summary is on stderr
    assert result.code == 0, result.stderr
    records = {r.get("endpoint") or r.get("token"): r for r in lines(result.stdout)}
    assert set(records) == {web["endpoint"], token, removed["endpoint"]}
    browser = records[web["endpoint"]]
    assert {k: browser[k] for k in ("type", "user_id", "keys", "topics", "status", "device_id")} == {
        "type": "web", "user_id": "alice", "keys": web["keys"], "topics": ["news", "sports"], "status": "ACTIVE", "device_id": None,
    }
    assert browser["created_at"].endswith("Z") and browser["updated_at"].endswith("Z")
    assert {k: records[token][k] for k in ("type", "user_id", "device_id", "status")} == {
        "type": "ios", "user_id": "alice", "device_id": "iphone-1", "status": "ACTIVE"}
    assert "endpoint" not in records[token]
    assert records[removed["endpoint"]]["status"] == "REMOVED"
    assert "exported 3 subscriptions" in result.stderr


def test_export_of_named_users_reads_only_theirs(cli, stack, created_app):
    app_id = created_app["app_id"]
    alice = add_web(stack, app_id, "alice")
    add_web(stack, app_id, "bob")
    dave = add_web(stack, app_id, "dave")
    result = cli("subscriptions", "export", "--app", app_id, "--user", "alice", "--user", "dave")
    assert sorted(r["endpoint"] for r in lines(result.stdout)) == sorted([alice["endpoint"], dave["endpoint"]])


def test_export_to_a_file_prints_one_json_summary(cli, stack, created_app, tmp_path):
    add_web(stack, created_app["app_id"], "alice")
    path = tmp_path / "out.jsonl"
    result = cli("subscriptions", "export", "--app", created_app["app_id"], "--output", str(path), "--json")
    assert result.json == {"exported": 1, "app_id": created_app["app_id"], "output": str(path)}
    assert len(lines(path.read_text())) == 1


def test_export_then_import_into_another_app_gives_the_same_subscriptions_and_reimport_changes_nothing(
    cli, stack, created_app, other_app, tmp_path
):
    # Given an app with browsers (topics included) and native devices, exported to a file
    source, target = created_app["app_id"], other_app["app_id"]
    add_web(stack, source, "alice", topics=("news",))
    add_web(stack, source, "bob", topics=("news", "weather"), device_id="laptop")
    add_native(stack, source, "bob", DeviceType.ANDROID, "pixel")
    path = tmp_path / "subscriptions.jsonl"
    cli("subscriptions", "export", "--app", source, "--output", str(path))
    # When the file is imported into another app, twice
    first = cli("subscriptions", "import", "--app", target, str(path), "--json")
    second = cli("subscriptions", "import", "--app", target, str(path), "--json")
    # Then the other app holds the same subscriptions, topics and all, and the second import only re-registered
    assert first.code == 0, first.stderr
    assert (first.json["created"], first.json["updated"], first.json["failed"]) == (3, 0, 0)
    assert (second.json["created"], second.json["updated"], second.json["failed"]) == (0, 3, 0)
    exported_again = cli("subscriptions", "export", "--app", target).stdout
    assert comparable(lines(exported_again)) == comparable(lines(path.read_text()))
    app = stack.services.repository.get_app(target)
    assert dict(stack.services.topics.list_topics(app)) == {"news": 2, "weather": 1}


def test_each_refused_row_is_reported_with_its_line_and_the_valid_ones_are_imported(cli, stack, created_app, tmp_path):
    good = {"type": "web", "user_id": "alice", "endpoint": endpoint(), "keys": dict(zip(("p256dh", "auth"), browser_keys(), strict=True))}
    p256dh, auth = browser_keys()
    rows = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "endpoint": "https://evil.example/push/1"}),
        "",
        json.dumps({**good, "endpoint": endpoint(), "keys": {"p256dh": "AAAA", "auth": auth}}),
        json.dumps({**good, "endpoint": endpoint(), "user_id": ""}),
        json.dumps({"type": "pager", "user_id": "alice", "token": "x"}),
        json.dumps({**good, "endpoint": endpoint(), "keys": {"p256dh": p256dh, "auth": auth}, "topics": ["no spaces"]}),
        json.dumps({"type": "fcm", "user_id": "bob", "token": "tok-1"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(rows) + "\n")
    result = cli("subscriptions", "import", "--app", created_app["app_id"], str(path), "--json")
    assert result.code == 1
    assert (result.json["created"], result.json["failed"]) == (2, 6)
    errors = {e["line"]: e["error"] for e in result.json["errors"]}
    assert set(errors) == {2, 3, 5, 6, 7, 8}
    assert errors[2] == "not valid JSON"
    assert errors[3].startswith("endpoint: ") and "evil.example" not in errors[3]
    assert errors[5].startswith("p256dh: ")
    assert errors[6].startswith("user_id: ")
    assert errors[7].startswith("type: must be one of")
    assert errors[8].startswith("topics: ")
    exported = lines(cli("subscriptions", "export", "--app", created_app["app_id"]).stdout)
    assert sorted(r.get("endpoint") or r.get("token") for r in exported) == sorted([good["endpoint"], "tok-1"])


def test_a_row_for_another_users_browser_with_other_keys_is_refused(cli, stack, created_app, tmp_path):
    held = add_web(stack, created_app["app_id"], "alice")
    p256dh, auth = browser_keys()
    path = tmp_path / "steal.jsonl"
    path.write_text(json.dumps({"user_id": "mallory", "endpoint": held["endpoint"], "keys": {"p256dh": p256dh, "auth": auth}}) + "\n")
    result = cli("subscriptions", "import", "--app", created_app["app_id"], str(path), "--json")
    assert result.json["errors"] == [{"line": 1, "error": "endpoint or token belongs to another user of the app (different keys)"}]
    [record] = lines(cli("subscriptions", "export", "--app", created_app["app_id"]).stdout)
    assert (record["user_id"], record["keys"]) == ("alice", held["keys"])


def test_plain_csv_and_onesignal_csv_are_imported(cli, stack, created_app, tmp_path):
    web_keys, other_keys = browser_keys(), browser_keys()
    first, second = endpoint(), endpoint()
    plain = tmp_path / "plain.csv"
    plain.write_text(f"endpoint,p256dh,auth,user_id\n{first},{web_keys[0]},{web_keys[1]},alice\nnot,enough,columns\n")
    onesignal = tmp_path / "onesignal.csv"
    # OneSignal's keys may come in standard base64: the same bytes are accepted
    p256dh_std = other_keys[0].replace("-", "+").replace("_", "/")
    onesignal.write_text(
        "id,identifier,session_count,device_type,external_user_id,web_auth,web_p256,invalid_identifier\n"
        f"os-1,{second},3,5,bob,{other_keys[1]},{p256dh_std},f\n"
        "os-2,apns-token-0123456789abcdef,1,0,,,,f\n"
        "os-3,legacy-safari,1,7,carol,,,f\n"
        f"os-4,{endpoint()},1,8,dave,{other_keys[1]},{other_keys[0]},t\n"
    )
    plain_result = cli("subscriptions", "import", "--app", created_app["app_id"], str(plain), "--format", "csv", "--json")
    onesignal_result = cli("subscriptions", "import", "--app", created_app["app_id"], str(onesignal), "--format", "onesignal-csv", "--json")
    assert (plain_result.json["created"], [e["line"] for e in plain_result.json["errors"]]) == (1, [3])
    assert (onesignal_result.json["created"], onesignal_result.json["skipped"]) == (2, 1)
    assert [e["line"] for e in onesignal_result.json["errors"]] == [4]
    records = {r.get("endpoint") or r.get("token"): r for r in lines(cli("subscriptions", "export", "--app", created_app["app_id"]).stdout)}
    assert (records[first]["user_id"], records[first]["keys"]) == ("alice", {"p256dh": web_keys[0], "auth": web_keys[1]})
    assert (records[second]["user_id"], records[second]["device_id"], records[second]["keys"]["p256dh"]) == ("bob", "os-1", other_keys[0])
    native = records["apns-token-0123456789abcdef"]
    assert (native["type"], native["user_id"]) == ("ios", "onesignal:os-2")


def test_a_onesignal_file_without_its_columns_is_refused_as_a_whole(cli, created_app, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("endpoint,p256dh,auth,user_id\n")
    result = cli("subscriptions", "import", "--app", created_app["app_id"], str(path), "--format", "onesignal-csv", "--json")
    assert result.json["errors"] == [{"line": 1, "error": "not a OneSignal subscriptions export: no column identifier, device_type"}]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_and_not_elsewhere(cli, stack, created_app, tmp_path):
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps({"user_id": f"u{i}", **add_web(stack, created_app["app_id"], f"u{i}")}) + "\n" for i in range(2)))
    terminal = _Terminal()
    transfer_commands.import_subscriptions(stack, created_app["app_id"], str(path), "jsonl", stderr=terminal)
    assert terminal.getvalue().rstrip().endswith("2/2") and "\r[" in terminal.getvalue()
    result = cli("subscriptions", "import", "--app", created_app["app_id"], str(path))
    assert result.code == 0 and result.stderr == ""
    assert "0 created, 2 already there" in result.stdout


def test_unknown_app_and_unreadable_file_are_clear_errors(cli, created_app, tmp_path: Path):
    missing = cli("subscriptions", "import", "--app", created_app["app_id"], str(tmp_path / "nope.jsonl"), "--json")
    assert missing.code == 1 and missing.json["error"].startswith("cannot read")
    unknown = cli("subscriptions", "export", "--app", "app_nope", "--json")
    assert unknown.json == {"error": "no app 'app_nope' on the moto account"}
