"""Evidence images: the trigger copies them into the bucket, failures land on the timeline."""

import datetime as dt
import ssl
import threading
from http.server import ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from firebase_admin import storage

from parkingdone import config, firebase
from parkingdone.sessions import evidence
from tests.integration.evidence_server import JPEG, PNG, ImageServer, _Handler
from tests.integration.ingest_support import T0, body, minutes, post
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def images():
    with ImageServer() as server:
        yield server


def evidence_of(db, session_id, count=1):
    def ready():
        items = db.collection("sessions").document(session_id).get().get("evidence") or []
        return items if len(items) >= count else None

    return wait_for(ready, timeout=20, what=f"{count} evidence item(s) on {session_id}")


def blob_bytes(path: str) -> bytes:
    bucket = storage.bucket(config.evidence_bucket(), app=firebase.app())
    return bucket.blob(path).download_as_bytes()


def test_entry_and_exit_images_are_copied_under_the_session(db, demo, images) -> None:
    entry_url = images.add("/cam/in.png", PNG)
    exit_url = images.add("/cam/out.jpg", JPEG, content_type="image/jpeg")
    sid = post(demo.webhook_token, body("entry", T0, image_url=entry_url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["kind"] == "entry_image" and item["status"] == "stored"
    assert item["contentType"] == "image/png" and item["bytes"] == len(PNG)
    path = f"evidence/{demo.operator_id}/{demo.facility_id}/{sid}/entry.png"
    assert item["storagePath"].endswith(path)
    assert blob_bytes(path) == PNG

    post(demo.webhook_token, body("exit", T0 + minutes(90), image_url=exit_url))
    items = evidence_of(db, sid, 2)
    assert [i["kind"] for i in items] == ["entry_image", "exit_image"]
    assert blob_bytes(f"evidence/{demo.operator_id}/{demo.facility_id}/{sid}/exit.jpg") == JPEG
    session = db.collection("sessions").document(sid).get().to_dict()
    assert session["status"] == "closed"


@pytest.mark.parametrize(
    ("path", "kwargs", "code", "retryable"),
    [
        ("/html", {"data": b"<html>", "content_type": "text/html"}, "bad_content_type", False),
        ("/liar.png", {"data": b"GIF89a....", "content_type": "image/png"}, "bad_content", False),
        ("/missing", {"data": b"", "status": 404}, "http_error", False),
        ("/busy", {"data": b"", "status": 503}, "http_error", True),
    ],
)
def test_a_failed_copy_is_on_the_timeline_and_leaves_the_session_alone(
    db, demo, images, path, kwargs, code, retryable
) -> None:
    url = images.add(path, **kwargs)
    sid = post(demo.webhook_token, body("entry", T0, image_url=url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["status"] == "failed" and item["error"] == code
    assert item["retryable"] is retryable
    session = db.collection("sessions").document(sid).get().to_dict()
    assert session["status"] == "open" and session["reviewRequired"] is False
    assert session["evidenceRetry"] is retryable


def test_private_and_link_local_targets_are_never_fetched(db, demo) -> None:
    # The metadata server and a private range: blocked even under the emulators.
    for url in ("http://169.254.169.254/computeMetadata/v1/x.png", "http://10.0.0.7/a.png"):
        with pytest.raises(evidence.EvidenceError) as err:
            evidence.check_target(url)
        assert err.value.code == "blocked_address"
    sid = post(
        demo.webhook_token,
        body("entry", T0, image_url="http://169.254.169.254/latest/meta-data/x.png"),
    ).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["error"] == "blocked_address" and item["retryable"] is False


def test_oversized_images_are_refused(db, demo, images) -> None:
    big = PNG + b"\x00" * (evidence.MAX_BYTES + 1)
    url = images.add("/big.png", big)
    sid = post(demo.webhook_token, body("entry", T0, image_url=url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["error"] == "too_large"


def test_the_sweep_retries_a_transient_failure(db, demo, images) -> None:
    from parkingdone.jobs import sessions_sweep

    url = images.add("/flaky.png", b"", status=503)
    sid = post(demo.webhook_token, body("entry", T0, image_url=url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["retryable"] is True
    images.add("/flaky.png", PNG)  # the camera server is back
    assert sessions_sweep.run(db).evidence_retried == 1
    session = db.collection("sessions").document(sid).get().to_dict()
    [item] = session["evidence"]
    assert item["status"] == "stored" and item["attempts"] == 2
    assert session["evidenceRetry"] is False


class Rebinding:
    """A resolver that answers `first` once and `later` ever after: DNS rebinding."""

    def __init__(self, first: str, later: str) -> None:
        self.first, self.later = first, later
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [self.first if len(self.calls) == 1 else self.later]


def test_the_copy_connects_to_the_checked_address_under_the_name(images) -> None:
    # Loopback is the camera stand-in's address, allowed under the emulators only.
    images.add("/cam/in.png", PNG)
    resolver = Rebinding(first="127.0.0.1", later="169.254.169.254")
    image = evidence.fetch(f"http://camera.test:{images.port}/cam/in.png", resolver)
    assert image.data == PNG
    assert resolver.calls == ["camera.test"]
    assert images.requests == [("/cam/in.png", f"camera.test:{images.port}")]


def test_a_name_that_rebinds_to_loopback_never_reaches_it(images) -> None:
    images.add("/cam/in.png", PNG)
    resolver = Rebinding(first="93.184.216.34", later="127.0.0.1")
    with pytest.raises(evidence.EvidenceError) as err:
        evidence.fetch(f"http://camera.test:{images.port}/cam/in.png", resolver)
    # Only the checked public address was tried (unreachable from the test machine).
    assert err.value.code in ("unreachable", "timeout")
    assert resolver.calls == ["camera.test"]
    assert images.requests == []


def test_every_redirect_hop_is_resolved_and_checked_again(images) -> None:
    images.add("/hop", b"", status=302, headers={"Location": "/cam/in.png"})
    images.add("/cam/in.png", PNG)
    resolver = Rebinding(first="127.0.0.1", later="169.254.169.254")
    with pytest.raises(evidence.EvidenceError) as err:
        evidence.fetch(f"http://camera.test:{images.port}/hop", resolver)
    assert err.value.code == "blocked_address"
    assert resolver.calls == ["camera.test", "camera.test"]
    assert [path for path, _ in images.requests] == ["/hop"]


def test_proxy_settings_of_the_environment_are_ignored(images, monkeypatch) -> None:
    with ImageServer() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        url = images.add("/cam/in.png", PNG)
        assert evidence.fetch(url).data == PNG
        assert proxy.requests == []
        assert [path for path, _ in images.requests] == ["/cam/in.png"]


def _self_signed(directory, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_tls_goes_to_the_checked_address_with_the_name_as_server_name(tmp_path) -> None:
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path, "camera.test"))
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        resolver = Rebinding(first="127.0.0.1", later="169.254.169.254")
        with pytest.raises(evidence.EvidenceError) as err:
            evidence.fetch(f"https://camera.test:{server.server_port}/x.png", resolver)
    finally:
        server.shutdown()
        server.server_close()
    # The name went out as the TLS server name, and a certificate no public CA signed is
    # refused: the copy verifies the certificate against the name, not the address.
    assert server_names == ["camera.test"]
    assert err.value.code == "unreachable" and "SSL" in str(err.value)
    assert resolver.calls == ["camera.test"]
