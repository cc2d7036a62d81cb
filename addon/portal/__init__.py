"""The block page and its forms, the front door a blocked person meets: pages from the
console's Jinja templates (`addon/console/templates/portal/`), the forms a Flask app that
mitmproxy serves inside the proxy (`app.py`, through `addon/proxy/requestform.py`)."""
