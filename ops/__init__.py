"""`hulei`: the operators' command line, over the gateway's API (never the stores)."""
