"""The agents: planner, content, activation, optimizer. Prompts are Jinja2 files in prompts/."""
