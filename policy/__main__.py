"""Serves the Edgee guardrails policy pack; the rules live in `pulumi_edgee.policy`."""

from pulumi_edgee.policy import serve

serve()
