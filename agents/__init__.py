"""The agents: planner, content, review (variants checked before launch), activation,
optimizer, and the campaign report built on the optimizer's measurement. Prompts are Jinja2
files in prompts/."""
