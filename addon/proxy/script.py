"""For `mitmdump -s addon/proxy/script.py --set guarita_policy=config/policy.yaml`."""

from addon.proxy import make_addons

addons = make_addons()
