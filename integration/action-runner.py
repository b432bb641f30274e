#!/usr/bin/env python3
"""Runs a composite action (action.yml) as a GitHub runner would, for tests without a runner.

    action-runner.py ACTION_DIR WORKDIR --input NAME=VALUE ... [--input-file NAME=PATH ...]

Each `run:` step gets bash, the step's `env:` with its `${{ … }}` expressions evaluated, and
the runner's files: GITHUB_ACTION_PATH, RUNNER_TEMP, a GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
of its own (read back as the runner does: name=value and name<<DELIMITER blocks), GITHUB_PATH
and GITHUB_ENV (applied to later steps). `uses:` steps (actions/cache) are listed and left out.
Writes WORKDIR/outputs.json (the action's outputs), WORKDIR/summary.md (the job summary),
WORKDIR/log.txt (every step's output, as the job log would hold it) and WORKDIR/steps.json.
Only the expression forms action.yml uses are understood (contexts inputs, steps, github,
runner; ==, !=, &&, ||, string literals); anything else stops with an error, so the test fails
rather than runs a step the real runner would treat differently.
"""
import json
import os
import platform
import re
import subprocess
import sys

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TOKEN = re.compile(r"\s*(==|!=|&&|\|\||'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.-]*)")


class Context:
    def __init__(self, inputs, action_path, temp):
        self.inputs = inputs
        self.steps = {}
        self.github = {"action_path": action_path}
        self.runner = {"temp": temp, "os": "Linux", "arch": {"x86_64": "X64", "aarch64": "ARM64"}.get(platform.machine(), "X64")}

    def value(self, name):
        parts = name.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        if parts[0] in ("github", "runner") and len(parts) == 2:
            return getattr(self, parts[0])[parts[1]]
        raise SystemExit(f"action-runner: unsupported expression operand {name!r}")

    def evaluate(self, text):
        if not re.fullmatch(f"(?:{TOKEN.pattern})+\\s*", text):
            raise SystemExit(f"action-runner: unsupported expression {text!r}")
        tokens = TOKEN.findall(text)
        values = []
        for token in tokens:
            if token in ("==", "!=", "&&", "||"):
                values.append(token)
            elif token.startswith("'"):
                values.append(token[1:-1].replace("''", "'"))
            else:
                values.append(self.value(token))
        # a == b / a != b first, then && before ||, as GitHub's operator precedence has it.
        compared = []
        index = 0
        while index < len(values):
            if index + 2 < len(values) and values[index + 1] in ("==", "!="):
                left, op, right = values[index:index + 3]
                compared.append((str(left).lower() == str(right).lower()) == (op == "=="))
                index += 3
            else:
                compared.append(values[index])
                index += 1
        alternatives = [[]]
        for item in compared:
            if item == "||":
                alternatives.append([])
            elif item != "&&":
                alternatives[-1].append(item)
        result = any(all(truthy(v) for v in group) for group in alternatives if group)
        return result if len(compared) > 1 else compared[0]

    def substitute(self, text):
        return EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1))), str(text))


def truthy(value):
    return value not in (False, "", None, 0, "false")


def read_outputs(path):
    outputs = {}
    lines = open(path, encoding="utf-8").read().split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def main():
    action_dir, work = sys.argv[1], os.path.abspath(sys.argv[2])
    inputs, arguments = {}, sys.argv[3:]
    for flag, item in zip(arguments[::2], arguments[1::2]):
        name, value = item.split("=", 1)
        inputs[name] = open(value, encoding="utf-8").read() if flag == "--input-file" else value
    action = yaml.safe_load(open(os.path.join(action_dir, "action.yml"), encoding="utf-8"))
    for name, spec in action["inputs"].items():
        if name not in inputs:
            if spec.get("required"):
                raise SystemExit(f"action-runner: input {name} is required")
            inputs[name] = str(spec.get("default", ""))
    unknown = set(inputs) - set(action["inputs"])
    if unknown:
        raise SystemExit(f"action-runner: unexpected inputs {sorted(unknown)}")
    temp = os.path.join(work, "runner-temp")
    os.makedirs(temp, exist_ok=True)
    context = Context(inputs, os.path.abspath(action_dir), temp)
    env = dict(os.environ, GITHUB_ACTION_PATH=context.github["action_path"], RUNNER_TEMP=temp, GITHUB_ACTIONS="true")
    for name in ("GITHUB_PATH", "GITHUB_ENV"):
        env[name] = os.path.join(work, name.lower())
        open(env[name], "w").close()
    summary, steps = "", []
    log = open(os.path.join(work, "log.txt"), "wb")
    for number, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"step{number}")
        if "if" in step and not truthy(context.evaluate(step["if"])):
            steps.append({"id": step_id, "ran": False})
            continue
        if "uses" in step:
            steps.append({"id": step_id, "ran": False, "uses": step["uses"]})
            continue
        step_env = dict(env)
        for line in open(env["GITHUB_ENV"], encoding="utf-8").read().splitlines():
            if "=" in line:
                name, value = line.split("=", 1)
                step_env[name] = value
        extra_path = [p for p in open(env["GITHUB_PATH"], encoding="utf-8").read().splitlines() if p]
        if extra_path:
            step_env["PATH"] = ":".join(reversed(extra_path)) + ":" + env["PATH"]
        for name, value in (step.get("env") or {}).items():
            step_env[name] = context.substitute(value)
        step_env["GITHUB_OUTPUT"] = os.path.join(work, f"output-{step_id}")
        step_env["GITHUB_STEP_SUMMARY"] = os.path.join(work, f"summary-{step_id}")
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            open(step_env[name], "w").close()
        if step.get("shell") != "bash":
            raise SystemExit(f"action-runner: step {step_id} must say shell: bash")
        # The runner writes the script to a file and runs it with `bash --noprofile --norc -eo pipefail`.
        script = os.path.join(temp, f"step-{step_id}.sh")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(step["run"])
        log.write(f"##[group]Run {step['run'].strip()}\n".encode())
        log.flush()
        status = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], env=step_env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT).returncode
        context.steps[step_id] = read_outputs(step_env["GITHUB_OUTPUT"])
        summary += open(step_env["GITHUB_STEP_SUMMARY"], encoding="utf-8").read()
        steps.append({"id": step_id, "ran": True, "status": status, "outputs": context.steps[step_id]})
        if status != 0:
            log.write(f"##[error]Process completed with exit code {status}.\n".encode())
            break
    log.close()
    outputs = {name: context.substitute(spec["value"]) for name, spec in action["outputs"].items()}
    json.dump(outputs, open(os.path.join(work, "outputs.json"), "w"), indent=1)
    json.dump(steps, open(os.path.join(work, "steps.json"), "w"), indent=1)
    open(os.path.join(work, "summary.md"), "w", encoding="utf-8").write(summary)
    failed = [s for s in steps if s.get("status", 0) != 0]
    sys.exit(failed[0]["status"] if failed else 0)


if __name__ == "__main__":
    main()
