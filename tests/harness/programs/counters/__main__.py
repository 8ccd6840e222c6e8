"""Counters described by the ``counters`` config (a JSON list), so tests drive every change
through config alone, as a user would between two ``pulumi up``.

Each spec: ``name`` (logical name), ``label`` (the ``name`` input; defaults to the logical
name), ``value`` (defaults to the ``defaultValue`` config), ``exclusive``, ``fail_on``,
``diff_unknown``, ``with_seed`` (adds the secret ``seed`` config as an input), and resource
options: ``dbr``, ``secret_token``, ``depends_on`` (logical names), ``protect``, ``retain``,
``ignore_changes``, ``replace_on_changes``, ``get_id`` (read an existing counter),
``import_id``.
"""

import pulumi
from harness_support.counter_provider import Counter

config = pulumi.Config()
made: dict[str, Counter] = {}

for spec in config.get_object("counters") or []:
    name = spec["name"]
    props = {
        "name": spec.get("label", name),
        "value": spec.get("value", config.get_int("defaultValue")),
    }
    if spec.get("exclusive"):
        props["exclusive"] = True
    if spec.get("diff_unknown"):
        props["diff_unknown"] = True
    if spec.get("fail_on"):
        props["fail_on"] = spec["fail_on"]
    if spec.get("with_seed"):
        props["seed"] = config.require_secret("seed")
    opts = pulumi.ResourceOptions(
        delete_before_replace=spec.get("dbr"),
        additional_secret_outputs=["token"] if spec.get("secret_token") else None,
        depends_on=[made[d] for d in spec.get("depends_on", [])],
        protect=spec.get("protect", False),
        retain_on_delete=spec.get("retain"),
        ignore_changes=spec.get("ignore_changes"),
        replace_on_changes=spec.get("replace_on_changes"),
        id=spec.get("get_id"),
        import_=spec.get("import_id"),
    )
    counter = made[name] = Counter(name, props, opts)
    pulumi.export(f"{name}Id", counter.id)
    pulumi.export(f"{name}Token", counter.token)
    pulumi.export(f"{name}Value", counter.value)
