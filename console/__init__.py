"""The vrclinic console: the therapist's side of a VR exposure session."""
