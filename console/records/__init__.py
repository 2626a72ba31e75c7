"""The reader side: a recorded session read back, the session store, the review model,
export and the report's content. No Qt."""
