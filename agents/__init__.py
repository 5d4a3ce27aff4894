"""The agents: planner, content, review (variants checked before launch), activation, optimizer.
Prompts are Jinja2 files in prompts/."""
