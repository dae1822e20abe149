"""Data-vending machines and a Lightning wallet for the swarm tests, written with nostr-sdk (rust-nostr) on a real relay.

Run as `swarm_fixture.py RELAY_URL STATE_DIR`. It prints one JSON line (the wallet's NWC URI, the DVMs' public keys),
then answers kind-5050 jobs by their `model` param:

- `free`: processing, two partial texts, then the whole result (no price);
- `paid`: payment-required (3000 msats with a BOLT 11 invoice), then the result once the wallet has paid it;
- `contested`: one DVM asks 999999 msats at once, another answers free a moment later;
- `late-bill`: the result first, with an amount and an invoice (1000 msats) on it;
- `bad-invoice`: asks 500 msats with an invoice for 600;
- `refused`: asks 700 msats with an invoice the wallet refuses to pay;
- `double`: two DVMs answer free at once; no model (`swarm/any`): one DVM answers;
- `tampered`: a result whose content was changed after signing and one signed by another key than its author's, sent
  raw (the relay checks nothing), then a genuine one;
- `slow`: the result after 3 s, sent again until a relay takes it (the test restarts the relay meanwhile);
- `error`: an error feedback; `silent`: nothing.

The wallet (NIP-47, NIP-44 v2 or NIP-04 as the request says) pays invoices the DVMs made by returning their
preimage, and writes each payment to STATE_DIR/payments.jsonl. A second, legacy wallet's info event names no
encryption (NIP-04 only), and it refuses a NIP-44 request.
"""

import asyncio
import hashlib
import json
import os
import sys
import time

import bolt11
import nostr_sdk as n
import websockets

RELAY = sys.argv[1]
STATE = sys.argv[2]
NODE_KEY = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734"

dvm_a, dvm_b, dvm_c, wallet, legacy_wallet = (n.Keys.generate() for _ in range(5))
wallet_client_secret = n.Keys.generate()
# Invoices the DVMs issued: payment hash -> (preimage, paid event).
invoices: dict[str, tuple[str, asyncio.Event]] = {}


def tag(*values: str) -> n.Tag:
    return n.Tag.parse(list(values))


def invoice(msats: int, for_msats: int | None = None) -> tuple[str, str]:
    preimage = os.urandom(32)
    payment_hash = hashlib.sha256(preimage).hexdigest()
    tags = bolt11.Tags(
        [
            bolt11.Tag(bolt11.TagChar.payment_hash, payment_hash),
            bolt11.Tag(bolt11.TagChar.description, "swarm job"),
            bolt11.Tag(bolt11.TagChar.expire_time, 600),
            bolt11.Tag(bolt11.TagChar.payment_secret, os.urandom(32).hex()),
        ]
    )
    made = bolt11.Bolt11(
        currency="bc", date=int(time.time()), tags=tags, amount_msat=bolt11.MilliSatoshi(for_msats or msats)
    )
    invoices[payment_hash] = (preimage.hex(), asyncio.Event())
    return bolt11.encode(made, NODE_KEY), payment_hash


class Fixture:
    def __init__(self) -> None:
        self.client = n.Client()

    async def send(self, keys: n.Keys, kind: int, content: str, tags: list[n.Tag]) -> None:
        await self.client.send_event(n.EventBuilder(n.Kind(kind), content).tags(tags).finalize(keys))

    async def feedback(self, keys: n.Keys, job: n.Event, status: str, content: str = "", extra=()) -> None:
        tags = [tag("status", *status.split("|")), tag("e", job.id().to_hex()), tag("p", job.author().to_hex()), *extra]
        await self.send(keys, 7000, content, tags)

    async def result(self, keys: n.Keys, job: n.Event, content: str, extra=()) -> None:
        tags = [tag("request", job.as_json()), tag("e", job.id().to_hex()), tag("p", job.author().to_hex()), *extra]
        await self.send(keys, 6050, content, tags)

    async def raw(self, event: dict) -> None:
        async with websockets.connect(RELAY) as ws:
            await ws.send(json.dumps(["EVENT", event]))
            await asyncio.wait_for(ws.recv(), 5)

    async def forged(self, job: n.Event) -> None:
        def builder(content: str) -> n.EventBuilder:
            return n.EventBuilder(n.Kind(6050), content).tags([tag("e", job.id().to_hex()), tag("p", job.author().to_hex())])

        changed = json.loads(builder("A genuine-looking answer.").finalize(dvm_c).as_json())
        changed["content"] = "A tampered answer."
        await self.raw(changed)
        # A's event, signed by C.
        unsigned = json.loads(builder("An impostor's answer.").finalize_unsigned(dvm_a.public_key()).as_json())
        serialized = [0, unsigned["pubkey"], unsigned["created_at"], unsigned["kind"], unsigned["tags"], unsigned["content"]]
        unsigned["id"] = hashlib.sha256(json.dumps(serialized, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        unsigned["sig"] = dvm_c.sign_schnorr(bytes.fromhex(unsigned["id"]))
        await self.raw(unsigned)

    async def answer(self, job: n.Event) -> None:
        params = {}
        for t in job.tags():
            v = t.to_vec()
            if v[0] == "param" and len(v) > 2:
                params[v[1]] = v[2]
        model = params.get("model", "")
        if model == "free":
            await self.feedback(dvm_a, job, "processing")
            await self.feedback(dvm_a, job, "partial", "The capital")
            await asyncio.sleep(0.2)
            await self.feedback(dvm_a, job, "partial", " of France")
            await asyncio.sleep(0.2)
            await self.result(dvm_a, job, "The capital of France is Paris.")
        elif model == "paid":
            bolt, payment_hash = invoice(3000)
            await self.feedback(dvm_b, job, "payment-required|Pay 3 sats", extra=[tag("amount", "3000", bolt)])
            await asyncio.wait_for(invoices[payment_hash][1].wait(), 20)
            await self.result(dvm_b, job, "A paid answer.", extra=[tag("amount", "3000")])
        elif model == "contested":
            bolt, _ = invoice(999999)
            await self.feedback(dvm_c, job, "payment-required", extra=[tag("amount", "999999", bolt)])
            await asyncio.sleep(0.3)
            await self.result(dvm_a, job, "A cheap answer.")
        elif model == "late-bill":
            bolt, _ = invoice(1000)
            await self.result(dvm_b, job, "Pay me later.", extra=[tag("amount", "1000", bolt)])
        elif model == "bad-invoice":
            bolt, _ = invoice(500, for_msats=600)
            await self.feedback(dvm_b, job, "payment-required", extra=[tag("amount", "500", bolt)])
        elif model == "":
            await self.result(dvm_a, job, "Any DVM's answer.")
        elif model == "double":
            await asyncio.gather(self.result(dvm_a, job, "First."), self.result(dvm_b, job, "Second."))
        elif model == "refused":
            bolt, payment_hash = invoice(700)
            del invoices[payment_hash]
            await self.feedback(dvm_b, job, "payment-required", extra=[tag("amount", "700", bolt)])
        elif model == "tampered":
            await self.forged(job)
            await asyncio.sleep(0.5)
            await self.result(dvm_a, job, "The genuine answer.")
        elif model == "slow":
            # The test restarts the relay once it knows the job is here.
            open(os.path.join(STATE, "slow-job-received"), "w").close()
            await asyncio.sleep(3)
            event = n.EventBuilder(n.Kind(6050), "Survived a relay restart.").tags(
                [tag("e", job.id().to_hex()), tag("p", job.author().to_hex())]).finalize(dvm_a)
            for _ in range(100):
                try:
                    await self.raw(json.loads(event.as_json()))
                    break
                except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
                    await asyncio.sleep(0.2)
        elif model == "error":
            await self.feedback(dvm_a, job, "error|model not loaded")

    async def pay(self, request: n.Event) -> None:
        author = request.author()
        legacy = any(t.to_vec()[:2] == ["p", legacy_wallet.public_key().to_hex()] for t in request.tags())
        payer = legacy_wallet if legacy else wallet
        nip44 = any(t.to_vec()[:2] == ["encryption", "nip44_v2"] for t in request.tags())
        if legacy and nip44:
            return  # it cannot read the request at all
        plain = payer.nip44_decrypt(author, request.content()) if nip44 else payer.nip04_decrypt(author, request.content())
        call = json.loads(plain)
        found = None
        if call.get("method") == "pay_invoice":
            decoded = bolt11.decode(call["params"]["invoice"])
            found = invoices.get(decoded.payment_hash)
        if found is None:
            answer = {"result_type": "pay_invoice", "error": {"code": "PAYMENT_FAILED", "message": "unknown invoice"}, "result": None}
        else:
            preimage, paid = found
            answer = {"result_type": "pay_invoice", "error": None, "result": {"preimage": preimage, "fees_paid": 0}}
            with open(os.path.join(STATE, "payments.jsonl"), "a") as log:
                log.write(json.dumps({"amount_msat": int(decoded.amount_msat or 0), "preimage": preimage, "nip44": nip44}) + "\n")
            paid.set()
        text = json.dumps(answer)
        content = payer.nip44_encrypt(author, text) if nip44 else payer.nip04_encrypt(author, text)
        await self.send(payer, 23195, content, [tag("p", author.to_hex()), tag("e", request.id().to_hex())])

    async def run(self) -> None:
        await self.client.add_relay(n.RelayUrl.parse(RELAY))
        await self.client.connect()
        await self.send(wallet, 13194, "pay_invoice", [tag("encryption", "nip44_v2 nip04")])
        await self.send(legacy_wallet, 13194, "pay_invoice", [])
        await self.send(dvm_a, 31990, json.dumps({"name": "Fixture A", "models": ["free", "contested"]}), [tag("k", "5050"), tag("d", "a")])
        await self.send(dvm_b, 31990, json.dumps({"name": "Fixture B", "models": ["paid"]}), [tag("k", "5050"), tag("d", "b")])
        since = n.Timestamp.now()
        jobs = n.Filter().kinds([n.Kind(5050)]).since(since)
        requests = n.Filter().kinds([n.Kind(23194)]).pubkeys([wallet.public_key(), legacy_wallet.public_key()]).since(since)
        await self.client.subscribe(n.ReqTarget.single(n.RelayUrl.parse(RELAY), [jobs, requests]))
        notifications = self.client.notifications()
        def uri(keys: n.Keys) -> str:
            return f"nostr+walletconnect://{keys.public_key().to_hex()}?relay={RELAY}&secret={wallet_client_secret.secret_key().to_hex()}"

        print(json.dumps({"nwc": uri(wallet), "nwc_legacy": uri(legacy_wallet), "dvms": {k: v.public_key().to_hex() for k, v in [("a", dvm_a), ("b", dvm_b), ("c", dvm_c)]}}), flush=True)
        seen = set()
        while True:
            item = await notifications.next()
            if item is None:
                break
            if not item.is_new_event():
                continue
            event = item.event
            if event is None or event.id().to_hex() in seen or not event.verify():
                continue
            seen.add(event.id().to_hex())
            if event.kind().as_u16() == 5050:
                asyncio.ensure_future(self.answer(event))
            elif event.kind().as_u16() == 23194:
                asyncio.ensure_future(self.pay(event))


asyncio.run(Fixture().run())
