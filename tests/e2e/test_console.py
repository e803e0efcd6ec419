"""The web console at /console/ in a real headless Chromium (Debian's chromium and
chromium-driver, driven with Selenium WebDriver) against a real `passo server`: starting an
execution from the console and watching it finish without a reload, a failed execution's
failing state and cause, approving a task that waits for a token, a state named
`<script>...` staying text, and signing in when the server has access keys.

Screenshots of the main pages go to target/console-screenshots/ (CI keeps them).

Without chromium the module is skipped, unless PASSO_REQUIRE_E2E=1 (CI), where a missing
browser is a failure.
"""

import json
import os
import time
import shutil
import unittest
import urllib.error
import urllib.request

import server as srv
from server import ROLE_ARN, definition, uniq, wait_until

CHROMIUM = os.environ.get("PASSO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PASSO_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.path.join(srv.REPO_ROOT, "target", "console-screenshots")
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = '"><img src=x onerror=alert(2)>'

SERVER = None
DRIVER = None
TRANSIENT = ()


def transient_errors():
    """Selenium's errors that mean "the page is not there yet" (it renders asynchronously)."""
    from selenium.common import exceptions as e
    return (e.StaleElementReferenceException, e.NoSuchElementException,
            e.ElementClickInterceptedException, e.ElementNotInteractableException)


def missing_browser():
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (tests/e2e/requirements.txt)"
    return None


def new_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1440,1000", "--force-device-scale-factor=1",
                "--disable-extensions", "--no-first-run"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(30)
    return d


def setUpModule():
    global SERVER, DRIVER, TRANSIENT
    why = missing_browser()
    if why:
        if os.environ.get("PASSO_REQUIRE_E2E") == "1":
            raise AssertionError("PASSO_REQUIRE_E2E=1 but the browser tests cannot run: " + why)
        raise unittest.SkipTest(why)
    TRANSIENT = transient_errors()
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        os.environ.pop(var)
    os.makedirs(SHOTS, exist_ok=True)
    SERVER = srv.PassoServer().start()
    DRIVER = new_driver()


def tearDownModule():
    if DRIVER is not None:
        DRIVER.quit()
    if SERVER is not None:
        SERVER.cleanup()


class Page:
    """Helpers over the shared driver."""

    def __init__(self, driver, endpoint):
        self.d = driver
        self.endpoint = endpoint

    def open(self, route):
        self.d.get(f"{self.endpoint}/console/#{route}")

    def wait(self, fn, timeout=20, what="the page"):
        """Poll fn until it is truthy. The console renders asynchronously and live updates
        replace elements, so a missing, stale or covered element only means "not yet"."""
        def attempt():
            try:
                return fn()
            except TRANSIENT:
                return None
        return wait_until(attempt, timeout=timeout, interval=0.1, what=what)

    def css(self, sel, timeout=10):
        """The first element matching sel, once it exists (NoSuchElementException after
        timeout seconds, which wait() treats as "not yet")."""
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.common.by import By
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.d.find_element(By.CSS_SELECTOR, sel)
            except NoSuchElementException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def all(self, sel):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def text(self, sel):
        """The element's text, read again if a live update replaced the element meanwhile."""
        return self.wait(lambda: (self.css(sel).text,), what=f"the text of {sel}")[0]

    def click(self, target, what=None):
        """Click the element a selector (or a function returning an element) names, retrying
        while it is missing, replaced by a re-render, or not yet clickable."""
        find = (lambda: self.css(target, timeout=0)) if isinstance(target, str) else target

        def attempt():
            el = find()
            if not el:
                return None
            el.click()
            return True
        self.wait(attempt, what=what or f"to click {target}")

    def wait_text(self, sel, want, timeout=20):
        return self.wait(lambda: want in self.css(sel).text and self.css(sel),
                         timeout=timeout, what=f"{want!r} in {sel}")

    def shot(self, name, height=None):
        if height:
            self.d.set_window_size(1440, height)
        self.d.save_screenshot(os.path.join(SHOTS, name + ".png"))
        if height:
            self.d.set_window_size(1440, 1000)

    def no_alert(self):
        from selenium.common.exceptions import NoAlertPresentException
        try:
            a = self.d.switch_to.alert
        except NoAlertPresentException:
            return True
        text = a.text
        a.dismiss()
        raise AssertionError(f"an alert opened: {text!r}")

    def console_errors(self):
        try:
            logs = self.d.get_log("browser")
        except Exception:  # noqa: BLE001 (not every driver keeps logs)
            return []
        return [entry["message"] for entry in logs if entry.get("level") == "SEVERE"]


class ConsoleTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sfn = SERVER.client()
        cls.sqs = srv.service_client(SERVER.endpoint, "sqs")
        cls.p = Page(DRIVER, SERVER.endpoint)

    def machine(self, states, name=None, **kw):
        return self.sfn.create_state_machine(
            name=name or uniq("console"), definition=definition(states), roleArn=ROLE_ARN,
            **kw)["stateMachineArn"]

    def finished(self, ex, timeout=30):
        return wait_until(
            lambda: (d := self.sfn.describe_execution(executionArn=ex))["status"] != "RUNNING" and d,
            timeout=timeout, what="the execution to end")

    def test_1_start_from_the_console_and_watch_it_finish(self):
        arn = self.machine({
            "Prepare": {"Type": "Pass", "Result": {"greeting": "hello"}, "ResultPath": "$.prep",
                        "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Route"},
            "Route": {"Type": "Choice", "Choices": [
                {"Variable": "$.who", "IsPresent": True, "Next": "Greet"}], "Default": "Nobody"},
            "Greet": {"Type": "Pass", "Parameters": {"message.$": "States.Format('hi {}', $.who)"},
                      "ResultPath": "$.greeting", "OutputPath": "$.greeting", "End": True},
            "Nobody": {"Type": "Succeed"},
        }, name="order-pipeline")
        p = self.p
        p.open("/machines")
        machine_link = lambda: next((a for a in p.all("a.machine-link") if a.text == "order-pipeline"), None)
        p.wait(machine_link, what="the machine link")
        self.assertIn("STANDARD", p.text("#machines"))
        p.shot("machines")
        p.click(machine_link, what="the machine link")
        p.wait(lambda: p.css("#machine-name").text == "order-pipeline", what="the machine page")
        # The graph is the server's SVG, one node per state.
        want = {"Prepare", "Pause", "Route", "Greet", "Nobody"}
        p.wait(lambda: {n.get_attribute("data-name") for n in p.all("svg.graph g.node.shape-state")} == want,
               what="one graph node per state")
        self.assertIn('"StartAt": "Prepare"', p.text("#definition"))
        p.shot("machine")
        p.click("#open-start")
        area = p.css("#execution-input")
        area.clear()
        area.send_keys('{"who": ')
        # Not JSON yet: the button is off and the editor says why.
        p.wait(lambda: not p.css("#start-execution").is_enabled(), what="Start to be disabled")
        self.assertIn("Not JSON", p.text(".json-check"))
        area.send_keys('"Ada"}')
        p.wait(lambda: p.css("#start-execution").is_enabled(), what="Start to be enabled")
        p.css("#execution-name").send_keys("from-the-console")
        p.click("#start-execution")
        p.wait(lambda: p.css("#execution-name").text == "from-the-console", what="the execution page")
        self.assertIn("Running", p.text("#execution-status"))
        # A marker the page would lose on a reload: the status must change under it.
        DRIVER.execute_script("window.__stillHere = 1")
        p.wait(lambda: p.css("g.node.st-running[data-name='Pause']"), what="Pause running")
        p.wait_text("#execution-status", "Succeeded", timeout=30)
        self.assertEqual(DRIVER.execute_script("return window.__stillHere"), 1)
        p.wait(lambda: not p.all("#live"), what="the live marker to go once it ended")
        for name in ("Prepare", "Pause", "Route", "Greet"):
            self.assertTrue(p.all(f"g.node.st-succeeded[data-name='{name}']"), name)
        self.assertTrue(p.all("g.node.st-not_reached[data-name='Nobody']"))
        # The table view lists each state entered.
        rows = [r.text for r in p.all("#entries tbody tr")]
        self.assertEqual(len(rows), 4, rows)
        self.assertTrue(rows[1].startswith("Pause"), rows)
        # A selected state's data.
        p.click("g.node[data-name='Greet']")
        p.wait_text("#selected-state", "Greet")
        self.assertIn('"message": "hi Ada"', p.text("#state-panel"))
        # Each step of its input/output processing, worked out by the server.
        p.click("#state-panel .show-steps")
        after = p.wait(lambda: p.css("[data-step='afterResultPath']"), what="the processing steps")
        self.assertIn('"greeting": {', after.text)
        self.assertIn('"prep": {', after.text)
        self.assertIn('"message": "hi Ada"', p.text("[data-step='afterParameters']"))
        self.assertEqual(json.loads(p.text("[data-step='output'] pre")), {"message": "hi Ada"})
        p.shot("execution")
        # The event history, each event's details expandable.
        p.click("#tab-events")
        p.wait_text("#events details.event", "ExecutionStarted")
        p.click("#events details.event summary")
        p.wait_text("#events details.event", '"who": "Ada"')
        p.click("#tab-io")
        self.assertIn('"message": "hi Ada"', p.text("#execution-output"))
        # Where the console started it, the API sees it.
        ex = [e for e in self.sfn.list_executions(stateMachineArn=arn)["executions"]]
        self.assertEqual([(e["name"], e["status"]) for e in ex], [("from-the-console", "SUCCEEDED")])
        self.assertEqual(p.console_errors(), [])

    def test_2_a_failed_execution_shows_its_failing_state_and_cause(self):
        missing = f"{SERVER.endpoint}/123456789012/{uniq('absent')}"
        arn = self.machine({
            "Load": {"Type": "Pass", "Next": "Notify"},
            "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                       "Parameters": {"QueueUrl": missing, "MessageBody": "x"}, "End": True},
        }, name="notify-customer")
        ex = self.sfn.start_execution(stateMachineArn=arn, name="nightly")["executionArn"]
        d = self.finished(ex)
        self.assertEqual(d["status"], "FAILED")
        p = self.p
        p.open("/executions?status=FAILED")
        nightly = lambda: next((a for a in p.all("a.execution-link") if a.text == "nightly"), None)
        p.wait(nightly, what="the failed execution in the filtered list")
        p.shot("executions")
        p.click(nightly, what="the failed execution")
        p.wait_text("#execution-status", "Failed")
        self.assertIn("SQS.QueueDoesNotExistException", p.text("#execution-failure"))
        self.assertTrue(p.all("g.node.st-failed[data-name='Notify']"))
        self.assertTrue(p.all("g.node.st-succeeded[data-name='Load']"))
        # Without selecting anything, the panel names the failed state.
        self.assertIn("Notify", p.text("#state-panel"))
        p.click("g.node[data-name='Notify']")
        p.wait_text("#selected-state", "Notify")
        self.assertEqual(p.text(".state-error"), "SQS.QueueDoesNotExistException")
        self.assertTrue(p.text(".state-cause").strip(), "the cause is shown")
        self.assertEqual(p.text(".state-cause"), d.get("cause", p.text(".state-cause")))
        # The steps of a failed Task: its recorded error stands in for the call.
        p.click("#state-panel .show-steps")
        p.wait(lambda: "SQS.QueueDoesNotExistException" in p.text(".processing"), what="the failed steps")
        self.assertIn(missing, p.text("[data-step='afterParameters']"))
        self.assertTrue(p.all("#redrive"), "a failed Standard execution can be redriven")
        p.shot("execution-failed")

    def test_3_approve_a_waiting_task_and_see_it_complete(self):
        url = self.sqs.create_queue(QueueName=uniq("reviews"))["QueueUrl"]
        arn = self.machine({
            "Review": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                       "Parameters": {"QueueUrl.$": "$.queue",
                                      "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                       "TimeoutSeconds": 120, "Next": "Ship"},
            "Ship": {"Type": "Pass", "End": True},
        }, name="refund-approval")
        ex = self.sfn.start_execution(stateMachineArn=arn, name="refund-1042",
                                      input=json.dumps({"queue": url, "order": 1042}))["executionArn"]
        p = self.p
        p.open("/approvals")
        card = p.wait(lambda: next((c for c in p.all("article.approval")
                                    if c.get_attribute("data-execution") == ex), None),
                      timeout=20, what="the waiting task in the inbox")
        self.assertEqual(card.find_element("css selector", ".state-name").text, "Review")
        self.assertIn('"order": 1042', card.find_element("css selector", ".payload").text)
        p.shot("approvals")
        out = card.find_element("css selector", "textarea.approve-output")
        out.clear()
        out.send_keys('{"approved": true, "by": "console"}')
        card.find_element("css selector", "button.approve").click()
        p.wait(lambda: "Approved" in card.text, what="the approval to be sent")
        d = self.finished(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"approved": True, "by": "console"})
        p.open("/execution/" + ex)
        p.wait_text("#execution-status", "Succeeded")
        self.assertTrue(p.all("g.node.st-succeeded[data-name='Review']"))

    def test_4_a_state_named_script_stays_text(self):
        arn = self.machine({
            SCRIPT_NAME: {"Type": "Pass", "Next": IMG_NAME},
            IMG_NAME: {"Type": "Pass", "Result": {"html": "<b>bold</b><script>alert(3)</script>"},
                       "End": True},
        }, name="inject-test")
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": "<i>x</i>"}))["executionArn"]
        self.finished(ex)
        p = self.p
        p.open("/machine/" + arn)
        p.wait(lambda: p.css("#machine-name").text == "inject-test", what="the machine page")
        p.no_alert()
        labels = [t.text for t in p.all("svg.graph .node-label")]
        self.assertIn(SCRIPT_NAME, labels)
        self.assertIn(SCRIPT_NAME, p.text("#definition"))
        p.open("/execution/" + ex)
        p.wait_text("#execution-status", "Succeeded")
        p.no_alert()
        p.click(f"#entries a.state-link")
        p.wait(lambda: p.css("#selected-state").text == SCRIPT_NAME, what="the state panel")
        rows = "\n".join(r.text for r in p.all("#entries tbody tr"))
        self.assertIn(IMG_NAME, rows)
        p.click("#tab-io")
        self.assertIn("<script>alert(3)</script>", p.text("#execution-output"))
        p.no_alert()
        # Only the console's own module is a script; no element came from the data.
        self.assertEqual(DRIVER.execute_script("return document.scripts.length"), 1)
        self.assertEqual(DRIVER.execute_script("return document.querySelectorAll('img, b, i').length"), 0)

    def test_5_branches_maps_and_a_caught_failure_are_coloured(self):
        missing = f"{SERVER.endpoint}/123456789012/{uniq('absent')}"
        arn = self.machine({
            "Fan out": {"Type": "Parallel", "Next": "Each item", "ResultPath": "$.fan", "Branches": [
                {"StartAt": "Price", "States": {"Price": {"Type": "Pass", "End": True}}},
                {"StartAt": "Stock", "States": {
                    "Stock": {"Type": "Wait", "Seconds": 1, "Next": "Reserve"},
                    "Reserve": {"Type": "Pass", "End": True}}}]},
            "Each item": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.each", "Next": "Charge",
                          "ItemProcessor": {"StartAt": "Pack", "States": {"Pack": {"Type": "Pass", "End": True}}}},
            "Charge": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                       "Parameters": {"QueueUrl": missing, "MessageBody": "charge"},
                       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund", "ResultPath": "$.error"}],
                       "Next": "Done"},
            "Refund": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        }, name="checkout")
        ex = self.sfn.start_execution(stateMachineArn=arn, name="order-77",
                                      input=json.dumps({"items": [1, 2, 3]}))["executionArn"]
        p = self.p
        p.open("/execution/" + ex)
        p.wait_text("#execution-status", "Succeeded", timeout=30)
        got = {n.get_attribute("data-name"): n.get_attribute("class") for n in p.all("svg.graph g.node")}
        for name in ("Fan out", "Price", "Stock", "Reserve", "Each item", "Pack", "Refund", "Done"):
            self.assertIn("st-succeeded", got[name], name)
        self.assertTrue(p.all("g.node.st-caught[data-name='Charge']"))
        # Parallel and Map are boxes holding their branches and processor.
        self.assertEqual(len(p.all("svg.graph g.shape-container")), 2)
        p.click("g.node[data-name='Charge']")
        p.wait_text("#selected-state", "Charge")
        self.assertIn("Caught", p.text("#state-panel"))
        self.assertIn("SQS.QueueDoesNotExistException", p.text("#state-panel"))
        DRIVER.execute_script("window.scrollTo(0, 0)")
        p.shot("execution-caught", height=1250)

    def test_6_a_map_run_and_express_executions(self):
        arn = self.machine({
            "Spread": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                       "ItemProcessor": {
                           "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                           "StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}}},
        }, name="spread")
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3]}))["executionArn"]
        self.assertEqual(self.finished(ex)["status"], "SUCCEEDED")
        p = self.p
        p.open("/execution/" + ex)
        p.wait_text("#execution-status", "Succeeded")
        self.assertTrue(p.all("svg.graph g.distributed"), "a Distributed Map is marked")
        p.click("#tab-maps")
        p.click("#tab-body a")
        p.wait(lambda: len(p.all("#children tbody tr")) == 3, what="the Map Run's children")
        self.assertIn("3", p.css(".c-succeeded .n").text)
        p.shot("map-run")
        p.click("#children a")
        p.wait_text("#execution-status", "Succeeded")
        # Express executions: the server's recent list.
        fast = self.machine({"Quick": {"Type": "Pass", "End": True}}, name="quick-express", type="EXPRESS")
        sync = srv.sfn_client(SERVER.endpoint)
        done = sync.start_sync_execution(stateMachineArn=fast, name="express-1", input="{}")
        self.assertEqual(done["status"], "SUCCEEDED")
        p.open("/executions?type=EXPRESS")
        p.click(lambda: next((a for a in p.all("a.execution-link") if a.text == "express-1"), None),
                what="the Express execution in the list")
        p.wait_text("#execution-status", "Succeeded")
        self.assertTrue(p.all("g.node.st-succeeded[data-name='Quick']"))

    def test_7_stop_and_redrive_from_the_page(self):
        arn = self.machine({"Hold": {"Type": "Wait", "Seconds": 300, "End": True}}, name="long-wait")
        ex = self.sfn.start_execution(stateMachineArn=arn, name="to-stop")["executionArn"]
        p = self.p
        p.open("/execution/" + ex)
        p.wait(lambda: p.css("g.node.st-running[data-name='Hold']"), what="Hold running")
        self.assertTrue(p.all("#live"))
        p.click("#stop")
        p.click("#confirm-stop")
        p.wait_text("#execution-status", "Aborted")
        self.assertEqual(self.sfn.describe_execution(executionArn=ex)["status"], "ABORTED")
        # Redrive runs it again from the state that did not finish.
        p.click("#redrive")
        p.wait(lambda: "Running" in p.text("#execution-status") and p.all("#live"), what="the redriven run")
        self.assertEqual(self.sfn.describe_execution(executionArn=ex).get("redriveCount"), 1)
        p.wait_text(".facts", "Redrives")
        p.click("#stop")
        p.click("#confirm-stop")
        p.wait_text("#execution-status", "Aborted")

    def test_8_activities_functions_and_every_machine(self):
        act = self.sfn.create_activity(name=uniq("review-queue"))["activityArn"]
        p = self.p
        p.open("/activities")
        p.wait(lambda: act in p.text("#activities"), what="the activity")
        p.shot("activities")
        p.open("/functions")
        p.wait_text("h1", "Functions")
        self.assertIn("No functions", p.text(".page"))
        p.open("/machines")
        p.wait(lambda: len(p.all("#machines tbody tr")) >= 7, what="every machine")
        statuses = p.text("#machines")
        for s in ("Succeeded", "Failed", "Aborted"):
            self.assertIn(s, statuses)
        p.shot("machines")

    def test_9_actions_need_the_csrf_token_and_json(self):
        arn = self.machine({"Done": {"Type": "Succeed"}})
        body = json.dumps({"stateMachineArn": arn, "input": "{}"}).encode()

        def post(headers):
            req = urllib.request.Request(f"{SERVER.endpoint}/console/api/start", data=body,
                                         headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        with urllib.request.urlopen(f"{SERVER.endpoint}/console/api/session", timeout=10) as r:
            csrf = json.loads(r.read())["csrf"]
        self.assertEqual(post({"Content-Type": "application/json"})[1]["error"], "InvalidCsrfToken")
        self.assertEqual(post({"Content-Type": "application/json", "X-Passo-Csrf": "x" * 64})[0], 403)
        self.assertEqual(post({"Content-Type": "text/plain", "X-Passo-Csrf": csrf})[0], 415)
        self.assertEqual(self.sfn.list_executions(stateMachineArn=arn)["executions"], [])
        status, ok = post({"Content-Type": "application/json", "X-Passo-Csrf": csrf})
        self.assertEqual(status, 200, ok)
        self.assertTrue(ok["executionArn"].startswith("arn:aws:states:"))
        # The shell and scripts come with a policy that allows no inline script.
        with urllib.request.urlopen(f"{SERVER.endpoint}/console/", timeout=10) as r:
            self.assertIn("script-src 'self'", r.headers["Content-Security-Policy"])
        with urllib.request.urlopen(f"{SERVER.endpoint}/console/js/execution.js", timeout=10) as r:
            self.assertTrue(r.headers["Content-Type"].startswith("text/javascript"))
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{SERVER.endpoint}/console/js/..%2Fmod.rs", timeout=10)
        self.assertEqual(e.exception.code, 404)


class SignInTest(unittest.TestCase):
    """A server with access keys: the console asks for one before showing anything."""

    @classmethod
    def setUpClass(cls):
        cls.server = srv.PassoServer(extra_args=["--access-key", "test:test"]).start()
        cls.server.client().create_state_machine(
            name="behind-sign-in", definition=definition({"Done": {"Type": "Succeed"}}), roleArn=ROLE_ARN)
        cls.p = Page(DRIVER, cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_sign_in_with_an_access_key(self):
        # The API of the console answers nothing without a session.
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{self.server.endpoint}/console/api/machines", timeout=10)
        self.assertEqual(e.exception.code, 401)
        p = self.p
        p.open("/machines")
        p.wait(lambda: p.css("#access-key-id"), what="the sign-in form")
        self.assertNotIn("behind-sign-in", DRIVER.page_source)
        p.shot("sign-in")
        p.css("#access-key-id").send_keys("test")
        p.css("#secret-access-key").send_keys("wrong")
        p.click("#sign-in")
        p.wait_text(".note-error", "Sign-in failed")
        p.css("#secret-access-key").clear()
        p.css("#secret-access-key").send_keys("test")
        p.click("#sign-in")
        p.wait(lambda: any(a.text == "behind-sign-in" for a in p.all("a.machine-link")),
               what="the machines after signing in")
        self.assertIn("test", p.text("#who"))
        cookie = DRIVER.get_cookie("passo_console")
        self.assertTrue(cookie and cookie["httpOnly"], cookie)
        self.assertEqual(cookie.get("sameSite"), "Strict")
        # Signing out asks again.
        p.click("#sign-out")
        p.wait(lambda: p.css("#access-key-id"), what="the sign-in form again")


if __name__ == "__main__":
    unittest.main()
