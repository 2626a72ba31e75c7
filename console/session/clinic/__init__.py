"""The clinical workflow: hierarchies and plans, decision support and safety. No Qt."""
