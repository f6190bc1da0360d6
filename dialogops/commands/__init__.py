"""The command layer: one function per command, returning its exit code.

A command loads what it needs (config, manifests, state, an API client), calls the core
modules, and hands their records to a view. It parses nothing (that is `dialogops.cli`)
and prints nothing itself (that is `dialogops.views`).
"""
