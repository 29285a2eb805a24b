"""A plain-Python checkout pipeline instrumented with the built-in recorder.

The pipeline takes the recorder as an argument; production code passes a
recorder of its own (or a no-op), tests pass the ``trace_recorder`` fixture.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from decimal import Decimal

from pytest_tracediff import TraceRecorder


@dataclass
class Item:
    sku: str
    price: Decimal
    quantity: int = 1


class GatewayTimeout(Exception):
    pass


class FlakyGateway:
    """Times out ``failures`` times, then charges."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures

    def charge(self, amount: Decimal) -> dict[str, object]:
        if self.failures:
            self.failures -= 1
            raise GatewayTimeout("gateway did not answer in 2s")
        return {"charged": str(amount), "transaction": str(uuid.uuid4())}  # volatile id: masked


def run_checkout(recorder: TraceRecorder, items: list[Item], gateway: FlakyGateway) -> dict[str, object]:
    @recorder.step
    def price_order(items: list[Item]) -> Decimal:
        return sum((i.price * i.quantity for i in items), Decimal("0"))

    @recorder.step(max_attempts=3, retry_on=(GatewayTimeout,))
    def charge_card(amount: Decimal) -> dict[str, object]:
        return gateway.charge(amount)

    async def reserve(sku: str) -> str:
        with recorder.step("reserve_stock", input={"sku": sku}) as step:
            await asyncio.sleep(0.001)
            reserved = f"reserved {sku}"
            step.output = reserved
            return reserved

    async def reserve_all() -> list[str]:
        # Concurrent steps: the golden is the same whatever order they finish in.
        return await asyncio.gather(*(reserve(i.sku) for i in items))

    with recorder.step("checkout", input={"skus": [i.sku for i in items]}) as run:
        total = price_order(items)
        receipt = charge_card(total)
        reserved = asyncio.run(reserve_all())
        output: dict[str, object] = {"total": total, "reserved": reserved, "receipt": receipt}
        run.output = output
    return output
