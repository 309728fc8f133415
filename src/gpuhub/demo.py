"""The guided tour behind ``gpuhub demo``: a marketplace on the embedded chain, step by step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .exceptions import NotGovernance, NotListingProvider
from .governance import Action, Proposal
from .models import Listing, PriceUnit, Rental, Reputation, VoteSupport
from .units import format_duration, format_wei

if TYPE_CHECKING:
    from .client import GPUHubClient

MILLI = 10**15  # wei in 0.001 ETH


def listings_table(title: str, listings: Sequence[Listing]) -> Table:
    """A rich table of listings; prices in ETH with every digit, so no two prices print alike.

    Model names come from the chain, where anyone writes them: they are shown as text, never
    read as rich markup (one listing named ``[/red]`` would otherwise break every table).
    """
    table = Table(title=title, title_justify="left")
    for column in ("id", "provider", "GPU", "GB", "price (ETH)", "per", "rent (units)", "status"):
        right = column in ("id", "GB", "price (ETH)")
        table.add_column(column, justify="right" if right else "left", no_wrap=column != "GPU")
    for x in listings:
        table.add_row(
            str(x.listing_id),
            short(x.provider),
            Text(x.gpu_model),
            str(x.capacity),
            format_wei(x.price, symbol=False),
            x.unit.name.lower(),
            f"{x.min_duration}..{x.max_duration}",
            x.status.name,
        )
    return table


def seed(market: GPUHubClient) -> list[Listing]:
    """Five GPUs listed by three providers (the chain's accounts 1, 2 and 3), as in the demo.

    The first account lists nothing, so a server that signs as it can rent any of them.
    """
    alice, bob, carol = (market.with_account(a) for a in market.accounts[1:4])
    return [
        alice.create_listing(
            gpu_model="NVIDIA RTX 4090",
            capacity=24,
            price=120 * MILLI,
            unit=PriceUnit.HOUR,
            max_duration=72,
        ),
        alice.create_listing(
            gpu_model="NVIDIA RTX 3090",
            capacity=24,
            price=2 * MILLI,
            unit=PriceUnit.MINUTE,
            min_duration=30,
            max_duration=600,
        ),
        bob.create_listing(
            gpu_model="NVIDIA A100 80GB PCIe",
            capacity=80,
            price=2_000 * MILLI,
            unit=PriceUnit.DAY,
            max_duration=30,
        ),
        carol.create_listing(
            gpu_model="NVIDIA H100 SXM5",
            capacity=80,
            price=300 * MILLI,
            unit=PriceUnit.HOUR,
            min_duration=2,
            max_duration=48,
        ),
        carol.create_listing(
            gpu_model="AMD Instinct MI300X",
            capacity=192,
            price=280 * MILLI,
            unit=PriceUnit.HOUR,
            max_duration=48,
        ),
    ]


def wide_console() -> Console:
    """A console at least 110 columns wide: tables need it, and pipes and CI logs default to 80."""
    return Console(width=max(Console().width, 110))


def short(address: str) -> str:
    """0x1234…abcd."""
    return f"{address[:6]}…{address[-4:]}"


def run(console: Console | None = None) -> int:
    """Run the demo; returns the process exit code."""
    from .client import GPUHubClient

    console = console or wide_console()
    console.rule("[bold]gpuhub demo[/bold] — a GPU marketplace on an embedded Ethereum chain")
    market = GPUHubClient.local()
    accounts = market.accounts
    alice, bob, carol = (market.with_account(a) for a in accounts[1:4])
    renter = market.with_account(accounts[4])
    stranger = market.with_account(accounts[9])
    gov = market.governance
    console.print(
        f"marketplace deployed at [cyan]{market.contract_address}[/cyan] "
        f"(chain id {market.chain_id}), governed by its participants through governor "
        f"{short(gov.address)} and timelock {short(gov.timelock)}"
    )

    console.print("\n[bold]0.[/bold] The founders vote in a 5% platform fee")
    try:
        market.set_fee(500)
    except NotGovernance as err:
        console.print(
            f"the deployer cannot set it directly: [red]{type(err).__name__}[/red] "
            f"(governance={short(err.governance)}, the timelock)"
        )
    founders = pass_proposal(market, [market], [Action.set_fee(500)], "Set the fee to 5%", console)
    console.print(f"{founders}; the fee is now {market.fee_bps()} bps")

    console.print("\n[bold]1.[/bold] Three providers list their spare GPUs")
    seed(market)
    console.print(listings_table("All listings", market.list_listings()))

    console.print("\n[bold]2.[/bold] A renter looks for at least 40 GB at most 0.2 ETH per hour")
    found = renter.list_gpus(max_price=200 * MILLI, min_capacity=40, price_unit=PriceUnit.HOUR)
    console.print(listings_table("list_gpus(max_price=0.2 ETH/hour, min_capacity=40)", found))

    console.print(
        "\n[bold]3.[/bold] Carol takes her H100 off the market for maintenance, then brings it back"
    )
    h100 = carol.fulfill_request(3)
    console.print(
        f"after fulfill_request(3): listing 3 is [yellow]{h100.status.name}[/yellow]; "
        f"available with 40+ GB: {[x.listing_id for x in market.list_gpus(min_capacity=40)]}"
    )
    h100 = carol.mark_available(3)
    console.print(
        f"after mark_available(3): listing 3 is [green]{h100.status.name}[/green]; "
        f"available with 40+ GB: {[x.listing_id for x in market.list_gpus(min_capacity=40)]}"
    )

    console.print("\n[bold]4.[/bold] A stranger tries to take Carol's listing off the market")
    try:
        stranger.fulfill_request(3)
    except NotListingProvider as err:
        console.print(
            f"refused by the contract: [red]{type(err).__name__}[/red] "
            f"(listing_id={err.listing_id}, caller={short(err.caller)})"
        )
    else:  # pragma: no cover - the contract guards this
        console.print("[red]the stranger's change went through[/red]")
        return 1
    console.print(f"listing 3 is still {market.get_listing(3).status.name}")

    console.print("\n[bold]5.[/bold] Bob reprices his A100")
    a100 = bob.update_listing(2, price=1_500 * MILLI)
    console.print(listings_table("Listing 2 after update_listing(2, price=...)", [a100]))

    console.print("\n[bold]6.[/bold] A renter quotes and rents; the ETH goes into escrow")
    people = {"renter": renter, "alice": alice, "carol": carol}
    before = {name: wallet(c) for name, c in people.items()}
    quote = renter.quote(0, 3)
    console.print(f"quote(0, 3 hours) = {eth(quote)}")
    first = renter.rent(0, 3)
    second = renter.rent(3, 2)
    console.print(rentals_table("Rentals started", [first, second]))
    console.print(
        f"held in escrow by the contract: {eth(market.w3.eth.get_balance(market.contract_address))}"
    )

    console.print("\n[bold]7.[/bold] 75 minutes pass; the renter ends the RTX 4090 early")
    market.chain.advance_time(75 * 60)
    ended = renter.end_rental(first.rental_id)
    billed = ended.cost_at(ended.end)
    console.print(
        f"billed {ended.end - ended.start} s of 3 h: {eth(billed)} to alice, "
        f"{eth(ended.refund_at(ended.end))} refunded to the renter"
    )

    console.print("\n[bold]8.[/bold] The H100 rental runs out; anyone may settle it")
    market.chain.advance_time(2 * 3600)
    settled = stranger.settle(second.rental_id)
    console.print(
        f"rental {settled.rental_id} is {settled.status.name}: "
        f"{eth(settled.cost_at(settled.end))} to carol"
    )
    console.print(rentals_table("Rentals now", market.rentals()))

    console.print("\n[bold]9.[/bold] Everyone withdraws (pull payments: the only way ETH leaves)")
    table = Table(title="Withdrawals", title_justify="left")
    for column in ("who", "withdrawable", "withdrawn", "wallet change (after gas)"):
        table.add_column(column, justify="left" if column == "who" else "right")
    for name, client in people.items():
        owed = client.balance_of()
        got = client.withdraw() if owed else 0
        change = wallet(client) - before[name]
        table.add_row(name, eth(owed), eth(got), eth(change))
    console.print(table)
    left = market.w3.eth.get_balance(market.contract_address)
    fees = market.treasury_funds()
    console.print(
        f"left in the contract: {eth(left)}, the fees held for the treasury (the timelock): "
        f"only a passed proposal pays them out, at most {eth(market.payout_allowance().amount)} "
        "(5%) per 30 days"
    )

    names = {c.address or "": name for name, c in people.items()}
    console.print("\n[bold]10.[/bold] Both sides of each rental rate each other (once, 1..5)")
    for rater, rental_id, score, comment in (
        (renter, first.rental_id, 5, "fast and stable"),
        (alice, first.rental_id, 5, "paid, ended on time"),
        (renter, second.rental_id, 4, "good, a little slow to start"),
        (carol, second.rental_id, 5, ""),
    ):
        rating = rater.rate(rental_id, score, comment=comment)
        said = f': "{rating.comment}"' if rating.comment else ""
        console.print(
            f"{names[rating.rater]} rates {names[rating.ratee]} as {rating.role.name.lower()} "
            f"{rating.score}/5 for rental {rating.rental_id}{said}",
            markup=False,
        )
    reputations = [market.reputation(c.address or "") for c in (alice, carol, renter)]
    console.print(reputation_table("Reputations, as the contract counts them", reputations, names))

    console.print("\n[bold]11.[/bold] Paying fees earned votes: one per wei, half to each side")
    voters = {"renter": renter, "alice": alice, "carol": carol}
    table = Table(title="Votes claimed", title_justify="left")
    for column in ("who", "claimed (units = wei of fee)", "votes now"):
        table.add_column(column, justify="left" if column == "who" else "right")
    for name, client in voters.items():
        claimed = client.governance.claim_votes()
        table.add_row(name, f"{claimed:,}", f"{client.governance.votes():,}")
    console.print(table)

    console.print("\n[bold]12.[/bold] The renter proposes to lower the fee to 2.5%; all vote FOR")
    lowered = pass_proposal(
        renter,
        [renter, alice, carol, market],
        [Action.set_fee(250)],
        "Lower the fee to 2.5%",
        console,
    )
    console.print(f"{lowered}; the fee is now {market.fee_bps()} bps for new rentals")
    console.rule("[green]demo finished[/green]")
    return 0 if left == fees and market.fee_bps() == 250 else 1


def pass_proposal(
    proposer: GPUHubClient,
    voters: Sequence[GPUHubClient],
    actions: Sequence[Action],
    description: str,
    console: Console,
) -> str:
    """Propose, vote FOR from every voter, wait out the vote and the timelock, execute."""
    gov = proposer.governance
    chain = proposer.chain
    proposal = gov.propose(actions, description)
    console.print(f'proposed "{description}" (state {proposal.state.name})')
    chain.advance_time(proposal.vote_start - chain.now() + 1)
    for voter in voters:
        tally = voter.governance.vote(proposal.proposal_id, VoteSupport.FOR)
    console.print(
        f"voted: {tally.for_votes:,} FOR, quorum {tally.quorum:,}; the vote closes at "
        f"{tally.vote_end}"
    )
    chain.advance_time(proposal.vote_end - chain.now() + 1)
    queued = gov.queue(proposal.proposal_id)
    console.print(f"passed and queued; the timelock holds it until {queued.eta}")
    chain.advance_time(queued.eta - chain.now() + 1)
    done: Proposal = gov.execute(proposal.proposal_id)
    return f"executed (state {done.state.name})"


def reputation_table(
    title: str, reputations: Sequence[Reputation], names: dict[str, str] | None = None
) -> Table:
    """A rich table of reputations: averages, the billed-weighted score and the track record."""
    table = Table(title=title, title_justify="left")
    columns = (
        "who",
        "as provider",
        "score",
        "as renter",
        "completed (provider)",
        "completed (renter)",
        "cut short",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "who" else "right")
    for rep in reputations:
        table.add_row(
            (names or {}).get(rep.address, short(rep.address)),
            _average(rep.provider_average, rep.provider_rating_count),
            f"{rep.provider_score():.2f}",
            _average(rep.renter_average, rep.renter_rating_count),
            str(rep.completed_as_provider),
            str(rep.completed_as_renter),
            str(rep.terminations),
        )
    return table


def _average(average: float | None, count: int) -> str:
    return "-" if average is None else f"{average:.2f} ({count})"


def wallet(client: GPUHubClient) -> int:
    """ETH in the client's account (not its withdrawable balance on the marketplace)."""
    return int(client.w3.eth.get_balance(client.w3.to_checksum_address(client.address or "")))


def eth(wei: int) -> str:
    """Wei as ETH, every digit kept."""
    return format_wei(wei)


def rentals_table(title: str, rentals: Sequence[Rental]) -> Table:
    """A rich table of rentals."""
    table = Table(title=title, title_justify="left")
    for column in ("id", "listing", "renter", "price", "per", "length", "paid", "status"):
        table.add_column(
            column, justify="right" if column in ("id", "listing", "length", "paid") else "left"
        )
    for r in rentals:
        table.add_row(
            str(r.rental_id),
            str(r.listing_id),
            short(r.renter),
            eth(r.price),
            r.unit.name.lower(),
            format_duration(max(0, r.end - r.start)),
            eth(r.paid),
            r.status.name,
        )
    return table
