"""For `mitmdump -s addon/proxy/script.py --set guarita_policy=config/policy.yaml`."""

from addon.proxy.enforce import Guarita

addons = [Guarita()]
