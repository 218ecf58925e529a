"""Process wiring for Sinergi: settings, CLI, engine, scheduler, outbox worker, web server, channels."""
