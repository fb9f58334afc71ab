"""Switchboard's core: settings, storage, the normalized message types, intake, ownership,
queues, deadlines and live events. Every other package stands on this one."""
