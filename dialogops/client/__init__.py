"""The Dialog API client: the only package that talks HTTP.

    api.py        DialogClient: create a campaign, stream a report, a client from DIALOG_*
    session.py    Session: login, token renewal, the one-attempt POST and its failures
    transport.py  the total deadline of a request; bounded, decoded reads of an answer
    errors.py     what a failure proves: rejected, unauthorized, retry later, ambiguous
    urls.py       the base URL: checked before anything is sent, shown without userinfo

Import from the module that holds a name; this package re-exports nothing, so loading
it loads no HTTP library.
"""
