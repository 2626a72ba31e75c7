"""The vrclinic console: the therapist's side of a VR exposure session."""


def version() -> str:
    """The installed vrclinic version, written into recordings and exports; "dev" when run
    from a checkout that was not installed."""
    try:
        from importlib.metadata import version as installed

        return installed("vrclinic")
    except Exception:  # importlib raises PackageNotFoundError, or worse on a broken install
        return "dev"
