"""AI Gateway stand-in: the keys the Console side holds, used the way the Gateway uses them.

Edgee's Gateway is described by its OpenAPI document (`edgee-gateway-openapi.json`); this
package answers `POST /v1/chat/completions` (plain and streamed), `POST /v1/messages`,
`POST /v1/count_tokens` and `GET /v1/models` in those shapes, with a deterministic echo
instead of a model, so that a key made through the Console routes can be proven to work,
or not, with the official client. The rules where Edgee's documents are silent are in
docs/gateway.md.

Its footprint on the store is two calls (`all_keys` to authenticate, `mark_used` for
`last_used_at`) and a ledger of its own: this month's spend per key, which the admin
route `/_emulator/keys/{id}/spend` reads and sets.

`common` holds the paths, catalogue and refusal; `shapes` the request shapes; `ledger` the
spend; `rules` what a key declares; `echo` the answers; `routes` the routes themselves.
"""

from __future__ import annotations

from .common import GATEWAY_ROUTES, gateway_error
from .routes import Gateway, SpendRoutes

__all__ = ["GATEWAY_ROUTES", "Gateway", "SpendRoutes", "gateway_error"]
