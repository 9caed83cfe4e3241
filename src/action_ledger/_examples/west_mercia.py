"""Three real West Mercia monthly assurance meetings, transcribed into the action ledger.

The source is the published meeting notes of the Police and Crime Commissioner (PCC) for West
Mercia holding the Chief Constable (CC) to account: April 2018, October 2018 and October 2021
(``shared/seeds/000_*.txt``, ``002_*.txt`` and ``003_*.txt``). The notes reached us as PDF
extractions with interleaved columns; where the text is garbled, the calls below use the wording
the minutes plainly mean, and a comment says what was read and why.

Owners are the role codes of the right-hand "ACTION" column of the notes. Due words are passed
exactly as minuted; the ledger resolves them against the meeting date.

``action-ledger demo`` records them (``make demo`` builds ``demo.db``). Or run it::

    python -m action_ledger._examples.west_mercia [register.db]
"""

import sys

from action_ledger import Attendee, Ledger

APRIL_2018 = "2018-04-23"
OCTOBER_2018 = "2018-10-26"
OCTOBER_2021 = "2021-10-04"

# The October 2021 notes revisit two actions "arising from the March 21 meeting on SOC"; those
# minutes are not among the seeds, so the actions are raised from this source, not a meeting.
MARCH_2021_SOURCE = (
    "March 2021 holding to account meeting on SOC (minutes not held in this register)"
)

# The October 2021 notes give only the month of the March meeting; the first of the month at
# 10:00 stands in for the day and time.
MARCH_2021_RAISED_AT = "2021-03-01T10:00"

# The notes say only that written updates "were provided in advance of the meeting"; the first
# of October stands in for the day they were received.
OCTOBER_2021_UPDATES_AT = "2021-10-01T09:00"

_OPCC_MINUTES_2018 = "Jackie Irvin, Policy Officer, OPCC"
_PCC = Attendee(name="John Campion", capacity="Police and Crime Commissioner", role="PCC")
_DPCC = Attendee(name="Tracey Onslow", capacity="Deputy Police and Crime Commissioner", role="DPCC")
_CEX = Attendee(
    name="Andy Champness",
    capacity="Chief Executive for the Police and Crime Commissioner",
    role="CEx",
)
_CC_2018 = Attendee(name="Anthony Bangham", capacity="Chief Constable", role="CC")
_DCC_2018 = Attendee(name="Amanda Blakeman", capacity="Deputy Chief Constable", role="DCC")


def record(ledger: Ledger, *, actor: str = "Jackie Irvin") -> None:
    """Record the three West Mercia meetings (April 2018, October 2018, October 2021)."""
    _april_2018(ledger, actor=actor)
    _october_2018(ledger, actor=actor)
    _march_2021_actions_and_october_2021(ledger, actor=actor)


def _april_2018(ledger: Ledger, *, actor: str) -> None:
    # The notes say "Tuesday 23 April 2018"; 23 April 2018 was a Monday. The date is kept as
    # minuted (it is also the one the title and the published notes file under).
    ledger.record_meeting(
        APRIL_2018,
        title="Monthly Assurance Meeting April 2018",
        held_at="2018-04-23T10:30",
        kind="Holding to account",
        venue="Meeting Room 1.38, Hindlip",
        chair="John Campion",
        minutes_by=_OPCC_MINUTES_2018,
        attendance=[
            _PCC,
            _DPCC,
            _CC_2018,
            _DCC_2018,
            Attendee(name="Martin Evans", capacity="Assistant Chief Constable", role="ACC"),
        ],
        apologies=[_CEX],
        actor=actor,
    )

    # 2.1.1, Preventing Crime and ASB, after AFI 3. Extracted as "ions arising: 1: Headlines
    # from Durham work to be shared with PCC", owner "сс" (Cyrillic letters): "Actions
    # arising: 1:" and "CC".
    ledger.raise_action(
        text="Headlines from Durham work to be shared with PCC.",
        owners=["CC"],
        meeting=APRIL_2018,
        item="2.1.1",
        actor=actor,
    )

    # 2.1.1, Protecting vulnerable people, after AFI 3: the notes have a heading "etions
    # arising:" ("Actions arising:") with nothing under it and nothing in the ACTION column,
    # so no action is raised for it.

    # 2.1.1, Tackling serious and organised crime. One "Actions arising:" paragraph holds three
    # sentences, next to "1.PCC 2.CC 3.CC": three actions, owned PCC, CC and CC in that order.
    # (The extraction repeats the paragraph, cut off, at the end of the reflowed section.)
    ledger.raise_action(
        text=(
            "The PCC committed to his office attending each of the partnership meetings "
            "for the next 12 to 18 months."
        ),
        owners=["PCC"],
        meeting=APRIL_2018,
        item="2.1.1",
        due="for the next 12 to 18 months",
        actor=actor,
    )
    ledger.raise_action(
        text="The CC to provide the dates of all the partnership meetings to the PCC.",
        owners=["CC"],
        meeting=APRIL_2018,
        item="2.1.1",
        actor=actor,
    )
    # The sentence ends without a full stop at the column edge; nothing else is missing.
    ledger.raise_action(
        text=(
            "A progress review of all AFIs and recommendations arising from the Effectiveness "
            "inspection to be brought to the July holding to account."
        ),
        owners=["CC"],
        meeting=APRIL_2018,
        item="2.1.1",
        due="to the July holding to account",
        actor=actor,
    )
    # Not raised: the force's own target dates (1 June, 30 June, 20 June, 1 September 2018) and
    # "the PCC would be kept informed" under item 3 are minuted as narrative, not as actions.


def _october_2018(ledger: Ledger, *, actor: str) -> None:
    # The notes give "Friday 26 October @ 10:00" with no year; the title says October 2018 and
    # 26 October 2018 was a Friday. They name no meeting type; item 2 is "HOLDING TO ACCOUNT"
    # (its 2.1 is "Performance against the Safer West Mercia Plan").
    ledger.record_meeting(
        OCTOBER_2018,
        title="Monthly Assurance Meeting October 2018",
        held_at="2018-10-26T10:00",
        kind="Holding to account",
        venue="Meeting Room 1.38, Hindlip",
        chair="John Campion",
        minutes_by=_OPCC_MINUTES_2018,
        attendance=[_PCC, _CC_2018, _DCC_2018],
        apologies=[_DPCC, _CEX],
        actor=actor,
    )

    # 2.1 Performance against the Safer West Mercia Plan: 1. Demand. The only ACTION-column text
    # near it is a stray "PCC / CC", extracted into the middle of the later paragraph on central
    # duties ("The central duties / PCC / CC function is needed"); it belongs to this action,
    # the only one in the Demand section. Two owners: PCC and CC.
    specials_meeting = ledger.raise_action(
        text=(
            "A meeting to be arranged for the PCC, CC and ACC to discuss the use of Specials "
            "and update on Op Vesta. (policing in Telford)"
        ),
        owners=["PCC", "CC"],
        meeting=OCTOBER_2018,
        item="2.1",
        actor=actor,
    )

    # 2.1, 2. Digital channel shift. The ACTION column is empty here; the action names its owner.
    ledger.raise_action(
        text=(
            "The DCC to review whether the crime reporting function can be switched back or "
            "whether an alternative can be implemented."
        ),
        owners=["DCC"],
        meeting=OCTOBER_2018,
        item="2.1",
        actor=actor,
    )

    # 2.1, 3. Visibility: "ACTIONS:" with two items and an empty ACTION column.
    # The survey results are the PCC's own (his town and parish survey), so the PCC owns
    # bringing them; it follows the Specials / Op Vesta meeting action it adds to.
    ledger.raise_action(
        text=(
            "The PCC's town and parish survey results to be included in meeting on OP Vesta "
            "and the Use of Specials referred to under Demand."
        ),
        owners=["PCC"],
        meeting=OCTOBER_2018,
        item="2.1",
        follows=[specials_meeting],
        actor=actor,
    )
    # The action names both owners.
    ledger.raise_action(
        text=(
            "The PCC and CC to discuss as part of the holding to account programme for 2019 "
            "before it is finalised."
        ),
        owners=["PCC", "CC"],
        meeting=OCTOBER_2018,
        item="2.1",
        actor=actor,
    )


def _march_2021_actions_and_october_2021(ledger: Ledger, *, actor: str) -> None:
    # The two March 2021 actions, numbered 1.2 and 2.2 as the October notes quote them. The
    # ledger takes an agenda item only with a recorded meeting, so the numbers are kept on the
    # revisits below, where the October notes use them.
    # 1.2 is a revisit of the force's SOC activity, answered by the force's written update and
    # followed by a new action the ACTION column gives to the CC: the CC owns it too.
    soc_balance = ledger.raise_action(
        text=(
            "Revisit in 6 months to see how SOC activity across the 4P's is balanced. "
            "(a greater focus on prevent activity was anticipated)."
        ),
        owners=["CC"],
        due="Revisit in 6 months",
        source=MARCH_2021_SOURCE,
        occurred_at=MARCH_2021_RAISED_AT,
        actor=actor,
    )
    # 2.2: the action names the PCC as its owner.
    lppt_resource = ledger.raise_action(
        text="PCC to revisit LPPT teams to check against original agreement for resource.",
        owners=["PCC"],
        source=MARCH_2021_SOURCE,
        occurred_at=MARCH_2021_RAISED_AT,
        actor=actor,
    )

    # "Written updates were provided in advance of the meeting."
    ledger.update_action(
        soc_balance,
        note="Written update provided in advance of the meeting: it evidenced force activity "
        "across all 4Ps.",
        source="written update",
        occurred_at=OCTOBER_2021_UPDATES_AT,
        actor=actor,
    )
    ledger.update_action(
        lppt_resource,
        note="Written update provided in advance of the meeting: it set out the current "
        "structure and role of the LPPT teams including that their role was being reviewed.",
        source="written update",
        occurred_at=OCTOBER_2021_UPDATES_AT,
        actor=actor,
    )

    # The notes give "Monday 4th October, 13:30 pm" with no year; the title says October 2021
    # and 4 October 2021 was a Monday. No apologies are listed.
    ledger.record_meeting(
        OCTOBER_2021,
        title="Monthly Assurance Meeting October 2021",
        held_at="2021-10-04T13:30",
        kind="Holding to account",
        venue="Willison Room",
        chair="John Campion",
        minutes_by="Charity Pearce, Assistant Policy Officer, OPCC",
        attendance=[
            _PCC,
            # The attendance list gives her initials, "(JI)", where everyone else has a role
            # code; the body of the notes calls her "The PM" (Policy Manager), so PM it is.
            Attendee(name="Jackie Irvin", capacity="Senior Policy Manager", role="PM"),
            Attendee(name="Pippa Mills", capacity="Chief Constable", role="CC"),
            Attendee(name="Julian Moss", capacity="Deputy Chief Constable", role="DCC"),
            Attendee(
                name="Rachel Hartland Lane", capacity="Director of Business Services", role="DBS"
            ),
            Attendee(
                name="Mel Crowther",
                capacity="T/Ch Supt. Crime & Vulnerability",
                role="T/Ch Supt",
            ),
        ],
        apologies=[],
        actor=actor,
    )

    # 1. Outstanding Matters / Matters arising. The notes record no verdict on either revisit,
    # so `assured` is left unknown rather than inferred.
    ledger.revisit_action(
        soc_balance,
        meeting=OCTOBER_2021,
        item="1.2",
        outcome=(
            "The written update evidenced force activity across all 4Ps. The PCC asked if there "
            "was an opportunity to reassure the public about action taken to disrupt criminal "
            "groups. The CC responded that regardless of what public feedback is about they "
            "need to publicise good work throughout the criminal justice process."
        ),
        assured=None,
        actor=actor,
    )
    # Owner "СС" (Cyrillic letters) in the ACTION column: CC.
    soc_publicity = ledger.raise_action(
        text="Revisit in 6 months to seek reassurance of change around how SOC activity is "
        "publicised.",
        owners=["CC"],
        meeting=OCTOBER_2021,
        item="1.2",
        due="Revisit in 6 months",
        follows=[soc_balance],
        actor=actor,
    )
    ledger.close_action(
        soc_balance,
        resolution="superseded",
        note="The written update evidenced force activity across all 4Ps; the revisit is "
        "replaced by a new action to revisit in 6 months how SOC activity is publicised.",
        meeting=OCTOBER_2021,
        superseded_by=soc_publicity,
        actor=actor,
    )

    # "2.2" here is the March numbering, not this meeting's item 2.2 (Effective safeguarding).
    # The CC will see the review findings this month, so the action stays open.
    ledger.revisit_action(
        lppt_resource,
        meeting=OCTOBER_2021,
        item="2.2",
        outcome=(
            "The written update set out the current structure and role of the LPPT teams "
            "including that their role was being reviewed. The PCC commented that the resource "
            "was allocated as part of a budget setting round and sought reassurance that their "
            "original intent remains. The CC responded that it was disappointing that their "
            "mission and structure had changed without auditable decision making but that she "
            "would have sight of the review findings this month. Any decision would be fed into "
            "the governance board."
        ),
        assured=None,
        actor=actor,
    )

    # 2.3 Organisational learning: two actions. The ACTION column entries were extracted below
    # them and out of order ("T/Ch Supt", then "2.4 Workforce vulnerability training", then
    # "PCC"). The commissioning team is the PCC's, so PCC owns the first; the second names the
    # T/Ch Supt.
    ledger.raise_action(
        text="Active discussion between PCC commissioning team and Chief Officers to ensure "
        "strategic priorities align.",
        owners=["PCC"],
        meeting=OCTOBER_2021,
        item="2.3",
        actor=actor,
    )
    ledger.raise_action(
        text="T/Ch Supt to find out timeline for homicide review analysis.",
        owners=["T/Ch Supt"],
        meeting=OCTOBER_2021,
        item="2.3",
        actor=actor,
    )

    # 2.9 Victims right to review (VRR). Owner "СС" (Cyrillic letters) in the ACTION column: CC.
    ledger.raise_action(
        text="Revisit in 6 months to determine if changes have been made to VRR process.",
        owners=["CC"],
        meeting=OCTOBER_2021,
        item="2.9",
        due="Revisit in 6 months",
        actor=actor,
    )


if __name__ == "__main__":
    ledger = Ledger.open(sys.argv[1] if len(sys.argv) > 1 else ":memory:")
    record(ledger)
    for action in ledger.register():
        owners = ", ".join(str(owner) for owner in action.owners)
        due = action.due_text or action.due_on or "-"
        print(f"{action.id}  [{action.status}]  {action.meeting or '-'} {action.item or '-'}")
        print(f"    owners: {owners}; due: {due}")
        print(f"    {action.text}")
