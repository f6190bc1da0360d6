"""Reports: a Report manifest's analytics request, the answer's check, the output files.

    request.py   build_request: the manifest resolved into the analytics body
    response.py  StreamedReport: the answer read and checked as it arrives; the totals
    outputs.py   write_report / write_file: CSV, JSON, JSONL, Markdown, atomically

Running reports is `dialogops.commands.report`; the table for a terminal is a view
(`dialogops.views.report`).
"""
