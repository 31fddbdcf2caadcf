"""`netlab trace`: explain a packet's path from netlab's compiled rules, then watch the kernel do it."""
