"""Web plumbing shared by every handler: the preamble, endpoint wrapping, error rendering, logs, faults.

Starlette and httpx are used here and in the handlers above; the engine below never imports them.
"""
