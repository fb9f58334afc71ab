"""The channel plug-in contract. Each channel package declares one `ChannelPlugin`: the
channel names it serves with their capabilities, labels and notice wording
(`ChannelSpec`), how to build its adapters, its HTTP blueprints, its `switchboard`
subcommands, its RQ jobs, its reconciler sweeps, the settings admins manage for it, where
it takes agents' replies to notification mails, what `switchboard up` runs for it on one
machine, and what /healthz says about it.
The composition root (`server.plugins`) holds the one tuple of plug-ins; the app, the
worker and the CLI are all built from that tuple, so adding a channel is one folder and
one line there. Blueprints and commands are factories, called only by the process that
needs them, so a worker never imports a channel's web layer."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.channels import (
    AdminSetting,
    Channel,
    ChannelRegistry,
    ChannelSpec,
    ReplyInbox,
    Sweep,
)
from gateway.errors import ConfigurationError
from gateway.reachability import ReachabilityGuard

if TYPE_CHECKING:
    from quart import Blueprint

    from gateway.db import Database
    from gateway.runtime import Services
    from gateway.settings import Settings


@dataclass(frozen=True, slots=True)
class OnOneMachine:
    """What `switchboard up` runs for a channel on one machine: its long-running
    processes (a name and the `switchboard` subcommand's arguments), the variables they
    need given the settings, the demo organization's set-up on every start, and a line
    for the welcome text, given the children's environment."""

    processes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    environment: Callable[[Settings], Mapping[str, str]] = lambda settings: {}
    demo: Callable[[Database], Awaitable[object]] | None = None
    welcome: Callable[[Mapping[str, str]], str] | None = None


@dataclass(frozen=True, slots=True)
class ChannelPlugin:
    name: str  # the package's name, for messages
    channels: tuple[ChannelSpec, ...]
    adapters: Callable[[Services], Iterable[Channel]]
    blueprints: Callable[[], Sequence[Blueprint]] = lambda: ()
    # adds subcommands to the `switchboard` parser's subparsers, each with a `handler`
    # default (see `gateway.commands.CommandHandler`)
    commands: Callable[[Any], None] | None = None
    jobs: tuple[str, ...] = ()  # dotted names of the RQ jobs the package defines
    sweeps: tuple[Sweep, ...] = ()
    admin_settings: tuple[AdminSetting, ...] = ()
    reply_inbox: ReplyInbox | None = None  # takes agents' replies to notification mails
    on_one_machine: OnOneMachine = OnOneMachine()
    # what `GET /healthz` says about the plug-in's own long-running parts (listeners, readers)
    health: Callable[[Services], Awaitable[Mapping[str, object]]] | None = None


def channel_plugin(
    name: str, spec: ChannelSpec, adapter: Callable[[Services], Channel], **more: Any
) -> ChannelPlugin:
    """A plug-in serving one channel name (the common case)."""
    return ChannelPlugin(name, (spec,), lambda services: [adapter(services)], **more)


def build_registry(plugins: Sequence[ChannelPlugin], services: Services) -> ChannelRegistry:
    """The adapters, declarations and sweeps of every plug-in, checked: each adapter
    must be declared by its plug-in, and each declared channel must have an adapter.
    Every adapter is registered behind the reachability check at send."""
    registry = ChannelRegistry()
    for plugin in plugins:
        specs = {spec.name: spec for spec in plugin.channels}
        built = set()
        for adapter in plugin.adapters(services):
            if adapter.name not in specs:
                raise ConfigurationError(
                    f"plug-in {plugin.name!r} builds channel {adapter.name!r} without declaring it"
                )
            registry.register(
                ReachabilityGuard(adapter, services.db, registry), specs[adapter.name]
            )
            built.add(adapter.name)
        if missing := sorted(set(specs) - built):
            raise ConfigurationError(
                f"plug-in {plugin.name!r} declares {', '.join(missing)} but builds no adapter"
            )
        registry.sweeps.extend(plugin.sweeps)
        registry.admin_settings.extend(plugin.admin_settings)
        if plugin.reply_inbox is not None:
            registry.reply_inboxes.append(plugin.reply_inbox)
    return registry


def check_jobs(plugins: Sequence[ChannelPlugin]) -> None:
    """Fail at start-up, not at the first job, when a declared job name does not resolve."""
    for plugin in plugins:
        for job in plugin.jobs:
            module, _, function = job.rpartition(".")
            try:
                found = getattr(importlib.import_module(module), function, None)
            except ImportError:
                found = None
            if not callable(found):
                raise ConfigurationError(f"plug-in {plugin.name!r} names a missing job {job!r}")
