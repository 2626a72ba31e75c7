"""The secret store: the OS keyring where a usable one runs, else 0600 files in a 0700 folder;
files or folders others could read or write are refused with the command that fixes them."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from console.core import secrets
from console.core.secrets import SecretError, SecretStore, default_store

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(tmp_path) -> SecretStore:
    return SecretStore(folder=tmp_path / "secrets", use_keyring=False)


@pytest.fixture
def backend():
    """keyring's chosen backend, put back after a test that chooses another."""
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_keep_secrets_in_a_0700_folder_as_0600_files(store, tmp_path):
    assert store.get("audit-key") is None  # nothing yet, and no folder made for reading
    assert not (tmp_path / "secrets").exists()
    store.put("audit-key", b"\x00\xffkey")
    assert store.get("audit-key") == b"\x00\xffkey"
    assert mode(tmp_path / "secrets") == 0o700 and mode(tmp_path / "secrets" / "audit-key") == 0o600
    assert store.where == f"files readable by this user only in {tmp_path / 'secrets'}"
    # Another store (another start of the console) finds it; replacing it leaves no temporary file.
    again = SecretStore(folder=tmp_path / "secrets", use_keyring=False)
    again.put("audit-key", b"new")
    assert store.get("audit-key") == b"new"
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["audit-key"]
    again.delete("audit-key")
    again.delete("audit-key")  # nothing to delete: no error
    assert store.get("audit-key") is None


def test_the_umask_does_not_widen_or_narrow_the_modes(tmp_path):
    old = os.umask(0o000)
    try:
        SecretStore(folder=tmp_path / "open", use_keyring=False).put("k", b"v")
    finally:
        os.umask(old)
    assert mode(tmp_path / "open") == 0o700 and mode(tmp_path / "open" / "k") == 0o600


def test_get_or_create_makes_a_secret_once(store):
    made = []

    def make() -> bytes:
        made.append(1)
        return os.urandom(32)

    first = store.get_or_create("audit-key", make)
    assert store.get_or_create("audit-key", make) == first and len(first) == 32
    assert made == [1]


def test_threads_and_processes_making_the_same_secret_all_get_the_one_kept(tmp_path):
    folder = tmp_path / "secrets"
    results: list[bytes] = []
    start = threading.Barrier(8)

    def run() -> None:
        start.wait()
        # A store of its own per thread, too: the file is the point of agreement, not the lock.
        results.append(SecretStore(folder=folder, use_keyring=False).get_or_create("k", lambda: os.urandom(16)))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from console.core.secrets import SecretStore
        s = SecretStore(folder=__import__("pathlib").Path({str(tmp_path / "p")!r}), use_keyring=False)
        sys.stdout.write(s.get_or_create("k", lambda: os.urandom(16)).hex())
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = {p.communicate(timeout=30)[0] for p in procs}
    assert len(results) == 8 and len(set(results)) == 1
    assert len(outs) == 1 and bytes.fromhex(outs.pop()) == (tmp_path / "p" / "k").read_bytes()


def test_a_secret_file_others_can_read_is_refused_with_the_chmod_to_run(store, tmp_path):
    store.put("audit-key", b"key")
    path = tmp_path / "secrets" / "audit-key"
    path.chmod(0o644)
    with pytest.raises(SecretError) as err:
        store.get("audit-key")
    assert f"Run:  chmod 600 '{path}'" in str(err.value) and "mode 0644" in str(err.value)
    assert "key" not in str(err.value).replace("audit-key", "")  # the value is never in the words
    with pytest.raises(SecretError):
        store.get_or_create("audit-key", lambda: b"other")  # not silently replaced either
    subprocess.run(["chmod", "600", str(path)], check=True)  # what the words say to do
    assert store.get("audit-key") == b"key"


def test_a_folder_others_can_open_is_refused_with_the_chmod_to_run(store, tmp_path):
    store.put("k", b"v")
    (tmp_path / "secrets").chmod(0o755)
    with pytest.raises(SecretError, match=rf"Run:  chmod 700 '{tmp_path / 'secrets'}'"):
        store.get("k")
    with pytest.raises(SecretError, match="chmod 700"):
        store.put("k2", b"v")
    assert not (tmp_path / "secrets" / "k2").exists()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_or_file_owned_by_someone_else_is_refused(store, tmp_path):
    store.put("k", b"v")
    os.chown(tmp_path / "secrets" / "k", 65534, 65534)
    with pytest.raises(SecretError, match=r"belongs to .*not to you"):
        store.get("k")
    os.chown(tmp_path / "secrets", 65534, 65534)
    with pytest.raises(SecretError, match=r"The secrets folder .* belongs to .*uid 65534.*Remove it"):
        store.get("k")


def test_a_secret_that_is_a_link_is_refused(store, tmp_path):
    store.put("real", b"v")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"planted")
    elsewhere.chmod(0o600)
    (tmp_path / "secrets" / "k").symlink_to(elsewhere)
    with pytest.raises(SecretError, match="symbolic link"):
        store.get("k")


@pytest.mark.parametrize("name", ["../k", "a/b", "a\\b", "/etc/passwd", "", ".hidden", "a b", "x" * 200, None])
def test_names_that_are_not_plain_names_are_refused(store, tmp_path, name):
    for call in (store.get, store.delete, lambda n: store.put(n, b"v"), lambda n: store.get_or_create(n, lambda: b"v")):
        with pytest.raises(SecretError) as err:
            call(name)
        if name and ("/" in name or "\\" in name):
            assert "path separator" in str(err.value)
    assert not (tmp_path / "k").exists() and not (tmp_path / "secrets").exists()


def test_values_must_be_bytes_of_a_sane_length(store):
    for value in (b"", "text", b"x" * 70_000):
        with pytest.raises(SecretError):
            store.put("k", value)  # type: ignore[arg-type]


def test_the_default_store_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VRCLINIC_HOME", str(tmp_path))
    monkeypatch.setenv("VRCLINIC_SECRETS", "files")
    s = default_store()
    assert s is default_store() and not s.in_keyring and s.folder == tmp_path / "secrets"
    monkeypatch.setenv("VRCLINIC_SECRETS", "vault")
    with pytest.raises(SecretError, match="VRCLINIC_SECRETS='vault' is not a choice"):
        default_store()


class PlaintextKeyring(KeyringBackend):
    """A backend of the kind keyrings.alt installs: it says it works, and writes clear text."""

    priority = 1.5

    def __init__(self):
        super().__init__()
        self.kept: dict = {}

    def get_password(self, service, username):
        return self.kept.get((service, username))

    def set_password(self, service, username, password):
        self.kept[(service, username)] = password

    def delete_password(self, service, username):
        self.kept.pop((service, username), None)


@pytest.mark.parametrize("chosen", [fail.Keyring, null.Keyring, PlaintextKeyring])
def test_keyrings_that_keep_nothing_or_clear_text_are_not_used(backend, tmp_path, chosen):
    keyring.set_keyring(chosen())
    assert secrets.usable_keyring() is None
    s = SecretStore(folder=tmp_path / "s")  # chooses: files
    assert not s.in_keyring and s.where.startswith("files readable by this user only")
    s.put("k", b"v")
    assert (tmp_path / "s" / "k").read_bytes() == b"v"
    with pytest.raises(SecretError, match=r"No usable OS keyring here.*VRCLINIC_SECRETS=files"):
        SecretStore(use_keyring=True)


def gnome_keyring_session(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``script`` in a D-Bus session of its own with a fresh, unlocked GNOME Keyring: the
    OS keyring as a Linux desktop has it, not the developer's own."""
    if not (shutil.which("gnome-keyring-daemon") and shutil.which("dbus-run-session")):
        pytest.skip("no GNOME Keyring here (apt-get install gnome-keyring dbus-daemon to run this test)")
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "script.py").write_text(f"import sys\nsys.path.insert(0, {str(REPO)!r})\n" + script)
    unlock = "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
    shell = f'{unlock} && exec "{sys.executable}" script.py'
    env = {k: v for k, v in os.environ.items() if k != "VRCLINIC_SECRETS"}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), VRCLINIC_HOME=str(home / "vrclinic"))
    return subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", shell], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_a_running_secret_service_is_used_and_holds_the_secrets(tmp_path):
    script = textwrap.dedent(
        """
        import os
        from console.core.secrets import SecretStore, default_store
        s = default_store()
        print(s.where)
        key = s.get_or_create("audit-key", lambda: bytes(range(32)))
        assert SecretStore().get("audit-key") == key == bytes(range(32))
        assert s.get_or_create("audit-key", lambda: b"other") == key
        assert not os.path.exists(os.path.join(os.environ["VRCLINIC_HOME"], "secrets"))
        s.delete("audit-key")
        assert s.get("audit-key") is None
        print("ok")
        """
    )
    result = gnome_keyring_session(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["the OS keyring (SecretService)", "ok"]
