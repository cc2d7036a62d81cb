"""The operations every front door offers (the block page's form, the console, the API, the
command line), written once: inputs validated by declared models, the rules in
`addon.state`, errors that carry the field and a text for the person in Portuguese, which
each door shows in its own way. No front door parses a request's fields itself.
"""
