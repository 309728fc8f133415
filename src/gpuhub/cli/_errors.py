"""gpuhub's errors as the command line tells them: a hint in command terms, and which of them
mean "not found" (``_app.exit_code`` turns an error into its exit code).

The SDK's messages name Python calls (``client.with_account(...)``, ``quote()``); a person at a
shell needs the flag or the command instead, so the hints of the errors a command can meet are
reworded here. Everything else in a message (the error's name and fields) is kept.
"""

from __future__ import annotations

from .. import exceptions as e

#: the errors that say what was asked for does not exist (exit code ``EXIT_NOT_FOUND``).
NOT_FOUND: tuple[type[e.GPUHubError], ...] = (
    e.ListingNotFound,
    e.RentalNotFound,
    e.GovernorNonexistentProposal,
    e.AccountNotFound,
    e.ContractNotDeployed,
    e.NoGovernor,
    e.GPUDetectionError,
)

#: the command-line hint for each contract error a command can meet, by class.
HINTS: dict[type[e.ContractError], str] = {
    e.ListingNotFound: "gpuhub list --all shows every listing's id",
    e.NotListingProvider: (
        "send with --from set to the listing's provider (gpuhub show LISTING names it)"
    ),
    e.ListingNotAvailable: "pick a listing that is AVAILABLE (gpuhub list shows them)",
    e.InvalidStatusTransition: (
        "gpuhub show LISTING shows its status; a removed listing never changes again"
    ),
    e.InvalidGpuModel: "give a model name of 1 to 64 bytes",
    e.InvalidCapacity: "--capacity is GPU memory in GB, 1 to 65535",
    e.InvalidPrice: "give a --price above 0 and below 2**96 wei per unit, as in 0.05eth/h",
    e.InvalidUnit: "give the price per m, h or d, as in 0.05eth/h",
    e.InvalidDurationRange: "--min and --max need 1 <= min <= max, in units of the price",
    e.InvalidDuration: (
        "rent (or extend to a total) between the listing's minimum and maximum "
        "(gpuhub show LISTING)"
    ),
    e.TermsChanged: "gpuhub quote LISTING DURATION again and rent at the new terms",
    e.InsufficientPayment: "raise --max-total to at least what gpuhub quote LISTING DURATION says",
    e.PaymentTooLarge: "rent or extend for fewer units",
    e.CannotRentOwnListing: "rent with --from set to another account",
    e.RentalNotFound: "gpuhub rentals shows every rental's id",
    e.RentalNotActive: "it is over already and its money credited (gpuhub balance shows it)",
    e.NotRenter: "send with --from set to the rental's renter",
    e.NotRentalParty: (
        "send with --from set to the renter or the provider, or gpuhub settle RENTAL after its end"
    ),
    e.RentalExpired: "gpuhub settle RENTAL, then rent again",
    e.RentalNotExpired: "wait for its end, or gpuhub end RENTAL as its renter or provider",
    e.NothingToWithdraw: "gpuhub balance shows what can be withdrawn",
    e.WithdrawFailed: "withdraw with --to set to an address that accepts ETH",
    e.FeeTooHigh: "the fee is in basis points, at most 1000",
    e.NotTreasury: "treasury payouts are proposals: gpuhub gov propose pay TO AMOUNT",
    e.NoVotesToClaim: (
        "votes are earned when a rental with a fee ends; gpuhub gov votes shows those pending"
    ),
    e.NoVotesContract: "deploy with gpuhub deploy (a governor by default) to earn and claim votes",
    e.GovernorInsufficientProposerVotes: (
        "gpuhub gov claim the votes you earned, or have someone gpuhub gov delegate to you"
    ),
    e.GovernorNonexistentProposal: "gpuhub gov list shows every proposal's id",
    e.TimelockUnexpectedOperationState: (
        "wait until the proposal's eta (gpuhub gov show ID; gpuhub chain advance-time on a dev "
        "chain), then execute"
    ),
    e.InvalidScore: "rate with a score from 1 to 5",
    e.CommentTooLong: "shorten --comment to at most 280 bytes",
    e.RentalNotOver: "gpuhub end RENTAL (or settle it after its end) first, then rate",
    e.AlreadyRated: "ratings are final; gpuhub reputation ADDRESS shows the totals",
    e.BalanceOverflow: "gpuhub withdraw first",
}

#: the command line's name for each SDK argument a ValidationError may name.
OPTION_NAMES = {
    "gpu_model": "MODEL",
    "min_duration": "--min",
    "max_duration": "--max",
    "max_total": "--max-total",
    "capacity": "--capacity",
    "price": "--price",
    "comment": "--comment",
    "score": "SCORE",
    "extra": "DURATION",
    "listing_id": "LISTING",
    "rental_id": "RENTAL",
    "proposal_id": "PROPOSAL",
    "fee_bps": "FEE_BPS",
}


def describe(err: e.GPUHubError) -> str:
    """``err``'s message with its hint in command-line terms."""
    text = str(err)
    if isinstance(err, e.ContractError):
        hint = next((h for cls, h in HINTS.items() if isinstance(err, cls)), None)
        sdk_hint = err._explain()
        if hint is not None and sdk_hint and sdk_hint in text:
            text = text.replace(sdk_hint, hint, 1)
        return text
    if isinstance(err, e.ValidationError) and not isinstance(err, e.QueryError):
        name = OPTION_NAMES.get(err.field)
        if name is not None and text.startswith(f"{err.field}:"):
            text = name + text[len(err.field) :]
    return text
