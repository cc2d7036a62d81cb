"""The `guarita` command: one module per verb group, errors become one line at the edge."""
