"""Secrets of this installation (the event log's audit key, the link's CURVE secret key):
in the OS keyring where there is a usable one, else in files only this user can read.

The OS keyring is reached through the ``keyring`` package: the Secret Service (GNOME
Keyring, KeePassXC, KWallet 6) or KWallet on Linux, the Keychain on macOS, the Credential
Locker on Windows. keyring's fail and null backends keep nothing, and a plaintext backend
(``keyrings.alt``) is no better than our own files: with those, or none, the secrets go to
files of mode 0600 in a folder of mode 0700, ``data_dir() / "secrets"`` by default. Such a
file or folder found readable by others, or owned by someone else, is refused with the
command that fixes it; nothing is read from it.

A secret never goes into a log, a session folder or a message: the errors here name the
secret and where it is, never its value.

Threads: a :class:`SecretStore` may be used from any thread, by several at once (a lock
serializes its calls; :meth:`SecretStore.get_or_create` is atomic within the process, and for
files also between processes). Not from the GUI thread: making a store and each call may
wait on D-Bus, and the keyring may wait for the user to unlock it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import os
import re
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from console.core.paths import data_dir

SERVICE = "vrclinic"
ENV = "VRCLINIC_SECRETS"  # "files" forces the files (tests, CI), "keyring" the OS keyring

# A name is a file name as well: no separators, no leading dot, nothing a shell would mangle.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_SECRET_BYTES = 64 * 1024  # keys are tens of bytes: a larger file is not one we wrote


class SecretError(RuntimeError):
    """A secret could not be read or kept; the text says why and what to do."""


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name!r} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _acceptable(backend: object) -> bool:
    """A keyring backend that keeps secrets apart from ordinary files: not keyring's fail or
    null backend (they keep nothing), not a plaintext or home-made file backend."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring, chainer.ChainerBackend)):
        return False
    kind = type(backend)
    if kind.__module__.startswith("keyrings.alt") or "plaintext" in kind.__name__.lower():
        return False
    try:
        return float(kind.priority) > 0  # type: ignore[attr-defined]
    except Exception:  # a backend says it cannot work here by raising (RuntimeError, D-Bus errors)
        return False


def usable_keyring() -> object | None:
    """The OS keyring backend to use, or None when there is no usable one. Talks to D-Bus on
    Linux: not on the GUI thread."""
    try:
        import keyring
        from keyring.backends import chainer

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration is no keyring
        return None
    # keyring's chainer writes to its first backend: use the first acceptable one directly.
    candidates = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    return next((b for b in candidates if _acceptable(b)), None)


def _keyring_name(backend: object) -> str:
    return type(backend).__module__.rpartition(".")[2] or type(backend).__name__


class SecretStore:
    """Named secrets (bytes) of one service, in the OS keyring or in 0600 files.

    ``use_keyring``: None picks the keyring when a usable one exists, else files; True insists
    on the keyring (:class:`SecretError` without one); False uses files in ``folder``
    (default ``data_dir() / "secrets"``). Any thread but the GUI thread (see the module).
    """

    def __init__(self, service: str = SERVICE, folder: Path | None = None, use_keyring: bool | None = None):
        self.service = service
        self.folder = Path(folder) if folder is not None else data_dir() / "secrets"
        self._lock = threading.RLock()
        self._keyring = usable_keyring() if use_keyring is not False else None
        if use_keyring is True and self._keyring is None:
            raise SecretError(
                "No usable OS keyring here (none is running, or only keyring's fail, null or plaintext "
                "backends are installed). Start the desktop's keyring (e.g. GNOME Keyring), or set "
                f"{ENV}=files to keep secrets in files only you can read."
            )
        self.where: str = (
            f"the OS keyring ({_keyring_name(self._keyring)})"
            if self._keyring is not None
            else f"files readable by this user only in {self.folder}"
        )

    def __repr__(self) -> str:
        return f"SecretStore({self.service!r}: {self.where})"

    @property
    def in_keyring(self) -> bool:
        return self._keyring is not None

    # -- the API ---------------------------------------------------------------------------
    def get(self, name: str) -> bytes | None:
        """The secret, or None when there is none of that name."""
        _check_name(name)
        with self._lock:
            return self._keyring_get(name) if self._keyring is not None else self._file_get(name)

    def put(self, name: str, value: bytes) -> None:
        """Keep ``value`` under ``name``, replacing any secret of that name."""
        _check_name(name)
        value = _check_value(name, value)
        with self._lock:
            if self._keyring is not None:
                self._keyring_put(name, value)
            else:
                self._file_put(name, value, exclusive=False)

    def get_or_create(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The secret of that name; made with ``make()`` and kept when there is none. Atomic
        within the process; for files between processes too (the first one kept wins). In the
        keyring two processes making the same secret at once may both write: the value read
        back after writing is the one returned, so both go on with the one kept."""
        _check_name(name)
        with self._lock:
            found = self.get(name)
            if found is not None:
                return found
            value = _check_value(name, make())
            if self._keyring is None:
                if self._file_put(name, value, exclusive=True):
                    return value
                found = self._file_get(name)  # another process kept one first: theirs it is
            else:
                self._keyring_put(name, value)
                found = self._keyring_get(name)
            if found is None:
                raise SecretError(f"The secret {name!r} was written to {self.where} but cannot be read back.")
            return found

    def delete(self, name: str) -> None:
        """Forget the secret of that name (nothing happens when there is none)."""
        _check_name(name)
        with self._lock:
            if self._keyring is not None:
                self._keyring_delete(name)
            else:
                self._file_delete(name)

    # -- the OS keyring ----------------------------------------------------------------------
    def _keyring_failed(self, what: str, name: str, exc: Exception) -> SecretError:
        return SecretError(
            f"{self.where} could not {what} the secret {name!r} ({type(exc).__name__}: {exc}). Unlock the "
            f"keyring (log in to the desktop session), or set {ENV}=files to keep secrets in files only you can read."
        )

    def _keyring_get(self, name: str) -> bytes | None:
        try:
            text = self._keyring.get_password(self.service, name)  # type: ignore[union-attr]
        except Exception as exc:  # keyring and D-Bus raise many types: all mean "cannot read"
            raise self._keyring_failed("read", name, exc) from exc
        if text is None:
            return None
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error) as exc:
            raise SecretError(
                f"The secret {name!r} in {self.where} (service {self.service!r}) was not written by vrclinic "
                "(it is not base64). Delete that entry with the keyring's own tool, then start again."
            ) from exc

    def _keyring_put(self, name: str, value: bytes) -> None:
        try:
            self._keyring.set_password(self.service, name, base64.b64encode(value).decode("ascii"))  # type: ignore[union-attr]
        except Exception as exc:
            raise self._keyring_failed("keep", name, exc) from exc

    def _keyring_delete(self, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        try:
            self._keyring.delete_password(self.service, name)  # type: ignore[union-attr]
        except PasswordDeleteError:
            pass  # there was none
        except Exception as exc:
            raise self._keyring_failed("delete", name, exc) from exc

    # -- files -------------------------------------------------------------------------------
    # Every file is opened relative to a descriptor of the checked folder, so the folder
    # checked is the folder used (a folder swapped for a link in between is not followed).
    def _open_folder(self, create: bool) -> int | None:
        """A descriptor of the secrets folder, checked (ours, 0700); None when it does not exist."""
        folder = self.folder
        if create:
            try:
                folder.parent.mkdir(parents=True, exist_ok=True)
                os.mkdir(folder, 0o700)
                os.chmod(folder, 0o700)  # whatever the umask
            except FileExistsError:
                pass
            except OSError as exc:
                raise SecretError(
                    f"Cannot make the secrets folder {folder}: {exc.strerror or exc}. Make sure you may write "
                    "to its parent folder, or set VRCLINIC_HOME to a folder of your own."
                ) from exc
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except NotADirectoryError as exc:
            raise SecretError(f"{folder} should be the secrets folder but is a file: move it away.") from exc
        except OSError as exc:
            raise SecretError(f"Cannot open the secrets folder {folder}: {exc.strerror or exc}.") from exc
        try:
            st = os.fstat(fd)
            me = os.getuid() if hasattr(os, "getuid") else None
            if me is not None and st.st_uid != me:
                raise SecretError(
                    f"The secrets folder {folder} belongs to {_owner(st.st_uid)}, not to you ({_owner(me)}): "
                    "they could read or replace the secrets in it, so vrclinic will not use it. Remove it (or "
                    "have its owner remove it) and start again, or set VRCLINIC_HOME to a folder of your own."
                )
            if me is not None and st.st_mode & 0o077:
                raise SecretError(
                    f"The secrets folder {folder} can be opened by other users (mode {stat.S_IMODE(st.st_mode):04o}), "
                    f"so vrclinic will not use it. Run:  chmod 700 '{folder}'  and start again."
                )
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _file_get(self, name: str) -> bytes | None:
        dir_fd = self._open_folder(create=False)
        if dir_fd is None:
            return None
        path = self.folder / name
        try:
            try:
                fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC, dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise SecretError(
                        f"{path} is a symbolic link; a secret must be a file of its own. "
                        "Remove the link and start again."
                    ) from exc
                raise SecretError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise SecretError(f"{path} is not a file: move it away and start again.")
                me = os.getuid() if hasattr(os, "getuid") else None
                if me is not None and st.st_uid != me:
                    raise SecretError(
                        f"{path} belongs to {_owner(st.st_uid)}, not to you: vrclinic will not use a secret someone "
                        "else could have written. Remove it and start again."
                    )
                if me is not None and st.st_mode & 0o077:
                    raise SecretError(
                        f"{path} can be read by other users (mode {stat.S_IMODE(st.st_mode):04o}), so vrclinic will "
                        f"not use the secret in it. Run:  chmod 600 '{path}'  and start again (if someone else may "
                        "have read it, tell whoever looks after this computer)."
                    )
                if st.st_size > _MAX_SECRET_BYTES:
                    raise SecretError(f"{path} is {st.st_size} bytes, too large for a secret vrclinic wrote.")
                chunks = []
                while chunk := os.read(fd, _MAX_SECRET_BYTES + 1):
                    chunks.append(chunk)
                return b"".join(chunks)
            except OSError as exc:
                raise SecretError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)

    def _file_put(self, name: str, value: bytes, exclusive: bool) -> bool:
        """Write the file whole (a temporary file renamed or linked into place, so a reader
        never sees half a secret). ``exclusive``: only if there is none yet; returns whether
        this call kept it."""
        dir_fd = self._open_folder(create=True)
        assert dir_fd is not None
        tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
        try:
            _write_synced(os.open(tmp, flags, 0o600, dir_fd=dir_fd), value)
            kept = True
            try:
                if exclusive:
                    try:
                        os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # fails if one exists
                    except FileExistsError:
                        kept = False
                    except OSError as exc:
                        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                            raise
                        kept = _create_exclusive(dir_fd, name, value)  # a file system without hard links
                else:
                    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            finally:
                with contextlib.suppress(FileNotFoundError):  # renamed into place
                    os.unlink(tmp, dir_fd=dir_fd)
            os.fsync(dir_fd)
            return kept
        except OSError as exc:
            raise SecretError(
                f"Cannot keep the secret {name!r} in {self.folder}: {exc.strerror or exc}. Free disk space, "
                "or make sure you may write to that folder."
            ) from exc
        finally:
            os.close(dir_fd)

    def _file_delete(self, name: str) -> None:
        dir_fd = self._open_folder(create=False)
        if dir_fd is None:
            return
        try:
            os.unlink(name, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SecretError(f"Cannot delete {self.folder / name}: {exc.strerror or exc}.") from exc
        finally:
            os.close(dir_fd)


def _create_exclusive(dir_fd: int, name: str, value: bytes) -> bool:
    """Write a new file only if there is none of that name (not atomic against a crash
    mid-write: for file systems without hard links only)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
    except FileExistsError:
        return False
    _write_synced(fd, value)
    return True


def _write_synced(fd: int, value: bytes) -> None:
    """Write all of ``value`` to the new file ``fd``, readable by its owner only whatever
    the umask, on disk before this returns; closes ``fd``."""
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(value)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise SecretError(f"A secret's name must be text, not {type(name).__name__}.")
    if "/" in name or "\\" in name or os.sep in name or (os.altsep and os.altsep in name):
        raise SecretError(f"A secret's name may not hold a path separator ('/' or '\\'): {name!r}.")
    if not _NAME.fullmatch(name):
        raise SecretError(
            f"{name!r} is not a secret's name: use 1 to 128 letters, digits, '.', '_' or '-', "
            "starting with a letter or a digit."
        )


def _check_value(name: str, value: bytes) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise SecretError(f"The secret {name!r} must be bytes, not {type(value).__name__}.")
    if not value or len(value) > _MAX_SECRET_BYTES:
        raise SecretError(f"The secret {name!r} must be 1 to {_MAX_SECRET_BYTES} bytes, not {len(value)}.")
    return bytes(value)


_default: dict[tuple[str, str], SecretStore] = {}
_default_lock = threading.Lock()


def default_store() -> SecretStore:
    """This installation's store: the OS keyring when a usable one exists, else files under
    the data folder. ``VRCLINIC_SECRETS=files`` forces files (tests, CI, a headless console),
    ``VRCLINIC_SECRETS=keyring`` the keyring. Made once per setting and data folder. Any thread
    but the GUI thread (finding the keyring talks to D-Bus)."""
    choice = os.environ.get(ENV, "").strip().lower()
    if choice not in ("", "auto", "files", "keyring"):
        raise SecretError(f"{ENV}={os.environ[ENV]!r} is not a choice: use 'files' or 'keyring', or leave it unset.")
    key = (choice, str(data_dir()))
    with _default_lock:
        store = _default.get(key)
        if store is None:
            use = {"files": False, "keyring": True}.get(choice)
            store = _default[key] = SecretStore(use_keyring=use)
        return store
