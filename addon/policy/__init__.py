"""The pure decision core: no mitmproxy, no I/O on the request path."""
