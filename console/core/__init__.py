"""What every room shares and nothing else: signals, paths, clock text, colours, the
version. No Qt; imports nothing of the console."""
