"""The mitmproxy layer: thin add-ons over addon.guard and addon.policy."""
