"""Mermaid state diagrams of flows, drawn by transitions itself (no system packages)."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from bot.content.flow import RESUME, Flow
from bot.flows.engine import build_machine


class _Drawing:
    """A model to attach: GraphMachine draws the graph of a model's machine."""


def mermaid(flow: Flow) -> str:
    """The intake's own paths as a state diagram; the global commands, which every state has,
    are listed as a note instead of drawn from every state."""
    machine = build_machine(flow, machine_class=GraphMachine, include_globals=False,
                            graph_engine="mermaid", title=f"flow: {flow.id}")
    model = _Drawing()
    machine.add_model(model)
    drawing: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    lines = [drawing.rstrip()]
    for name, state in flow.states.items():
        if state.ask is not None:
            for choice in state.ask.choices:
                if choice.next == RESUME:
                    lines.append(f"  {name} --> [*]: {choice.value} (back to where they were)")
    globals_note = "<br/>".join(
        f"{g.label} → {g.target}" + (f" (consented: {g.target_if_consented})"
                                     if g.target_if_consented else "")
        for g in flow.globals.values()
    )
    # A block note: Mermaid ends a one-line note's text at its next colon.
    lines += [f"  note right of {flow.start}", f"    from every state —<br/>{globals_note}",
              "  end note"]
    return "\n".join(lines) + "\n"
