"""guarita: web-proxy access control for mitmproxy.

The policy core (`addon.policy`) is pure and imports nothing from mitmproxy;
the proxy layer (`addon.proxy`) is a thin mitmproxy add-on over it.
"""

__version__ = "0.1.0"
