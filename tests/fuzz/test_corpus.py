"""Every committed fuzz input (tests/fuzz/corpus/<harness>/: the seeds, and the inputs that once
crashed a harness) through its harness, without atheris: only the declared error types may
escape. The corpus stays small (at most 200 files and 1 MB per harness) so that this runs in
`make test` in seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fuzz.harnesses import HARNESSES, use_fuzz_key

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture
def fuzz_home(tmp_path, monkeypatch):
    """An installation whose audit key is the fuzzing key, as in `make fuzz`."""
    monkeypatch.setenv("VRCLINIC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VRCLINIC_SECRETS", "files")
    use_fuzz_key()


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_every_corpus_input_passes_its_harness(name, fuzz_home):
    files = sorted((CORPUS / name).iterdir())
    assert 0 < len(files) <= 200 and sum(f.stat().st_size for f in files) <= 1_000_000
    harness = HARNESSES[name]
    started = time.monotonic()
    failed = []
    for path in files:
        try:
            harness.one(path.read_bytes())
        except Exception as exc:  # anything the harness does not allow is a bug: name the input
            failed.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert not failed, f"{len(failed)} of {len(files)} inputs failed the {name} harness:\n" + "\n".join(failed)
    assert time.monotonic() - started < 10


def test_the_harnesses_let_only_their_declared_errors_escape(fuzz_home):
    """A harness's own checks fail on what they should (so the replay above can fail)."""
    from protocol.codec import ProtocolError

    codec = HARNESSES["codec"]
    assert codec.allowed == (ProtocolError,)
    codec.one(b"\x01\xc1")  # refused with a ProtocolError: allowed
    with pytest.raises(TypeError):
        codec.one("\x01text")  # type: ignore[arg-type]  # not bytes: a bug in the caller, not allowed
