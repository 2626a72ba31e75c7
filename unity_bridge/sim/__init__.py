"""The simulated headset: a real engine client users run for demos, rehearsal and checks."""
