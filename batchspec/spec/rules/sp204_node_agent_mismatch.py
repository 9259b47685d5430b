from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Diagnostic, Severity
from batchspec.spec.images import node_agent_for
from batchspec.spec.rules.base import Example, PoolContext, SpecRule


class NodeAgentMismatch(SpecRule):
    """Node agent SKU that does not match the image.

    Each marketplace image runs with one node agent (``batch.node.ubuntu 22.04`` for Ubuntu 22.04); a mismatched
    pair fails when the pool is created. Only well-known images are checked.
    """

    code = "SP204"
    name = "node-agent-mismatch"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad='{"properties": {"deploymentConfiguration": {"virtualMachineConfiguration": {"imageReference": '
            '{"publisher": "canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts"}, '
            '"nodeAgentSkuId": "batch.node.ubuntu 20.04"}}}}',
            good='{"properties": {"deploymentConfiguration": {"virtualMachineConfiguration": {"imageReference": '
            '{"publisher": "canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts"}, '
            '"nodeAgentSkuId": "batch.node.ubuntu 22.04"}}}}',
        ),
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        vm_path = ctx.path("vmConfig")
        vm = ctx.get(vm_path)
        if not isinstance(vm, dict):
            return
        key = next((k for k in vm if isinstance(k, str) and k.lower() == "nodeagentskuid"), None)
        expected = node_agent_for(vm.get("imageReference"))
        if (
            key is None
            or expected is None
            or not isinstance(vm[key], str)
            or vm[key].lstrip().startswith("[")
        ):
            return  # "[parameters('nodeAgent')]": an ARM expression, known only at deployment
        if vm[key].strip().lower() != expected.lower():
            img = vm["imageReference"]
            yield self.report(
                ctx,
                (*vm_path, key),
                f'node agent "{vm[key]}" does not match the image {img.get("offer")}/{img.get("sku")}; expected "{expected}"',
                hint=f'set "{expected}" (or leave nodeAgentSkuId out of a batchspec spec to derive it)',
            )
