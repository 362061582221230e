"""Runs the conformance cases in moto's Step Functions engine and prints one JSON result per case.

moto executes state machines when `stepfunctions.execute_state_machine` is set. Its loader for
Step Functions Local mock configurations is hard-coded to load nothing, and its executions never
ask for one, so this launcher hands each execution worker the case's `mocks` (the MockConfigFile
format, inlined): Task states then get the canned `Return` or `Throw` for their retry number, as
Step Functions Local would give them.

Usage: python moto_run.py CASES.json RESULTS.json
writes {"case name": {"status", "output", "error", "cause"}, ...} (moto logs to stderr and stdout).
"""

import json
import sys
import time

from moto import mock_aws
from moto.stepfunctions.parser.backend import execution
from moto.stepfunctions.parser.mocking import mock_config as mc

CASES = {}


def parse_range(text):
    if "-" in text:
        start, end = text.split("-", 1)
        return int(start), int(end)
    return int(text), int(text)


def mock_test_case(state_machine_name):
    case = CASES.get(state_machine_name)
    if case is None or not case.get("mocks"):
        return None
    states = []
    for state, answers in case.get("mocks", {}).items():
        responses = []
        for i, answer in enumerate(answers):
            if "Return" in answer:
                responses.append(mc.MockedResponseReturn(i, i, answer["Return"]))
            else:
                throw = answer["Throw"]
                responses.append(mc.MockedResponseThrow(i, i, throw["Error"], throw.get("Cause", "")))
        states.append(mc.StateMockedResponses(state, f"{state_machine_name}-{state}", responses))
    return mc.MockTestCase(state_machine_name, "conformance", states)


_start_worker = execution.Execution._get_start_execution_worker


def _start_mocked_worker(self):
    worker = _start_worker(self)
    worker._mock_test_case = mock_test_case(self.state_machine.name)
    return worker


execution.Execution._get_start_execution_worker = _start_mocked_worker


def parse_output(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        # Not JSON: kept as the raw text, so the comparison shows what moto produced.
        return {"unparsable output": text}


def machine_name(i):
    return f"case-{i}"


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def run(cases):
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    started = {}
    for i, case in enumerate(cases):
        name = machine_name(i)
        CASES[name] = case
        arn = sfn.create_state_machine(
            name=name,
            definition=json.dumps(case["definition"]),
            roleArn="arn:aws:iam::123456789012:role/conformance",
        )["stateMachineArn"]
        started[case["name"]] = sfn.start_execution(
            stateMachineArn=arn, input=json.dumps(case.get("input", {}))
        )["executionArn"]
    results = {}
    deadline = time.time() + 120
    while started and time.time() < deadline:
        for name, arn in list(started.items()):
            d = sfn.describe_execution(executionArn=arn)
            if d["status"] == "RUNNING":
                continue
            results[name] = {
                "status": d["status"],
                "output": parse_output(d.get("output")),
                "error": d.get("error"),
                "cause": d.get("cause"),
            }
            del started[name]
        time.sleep(0.05)
    for name in started:
        results[name] = {"status": "RUNNING", "output": None, "error": None, "cause": None}
    return results


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = run(cases)
    with open(sys.argv[2], "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
