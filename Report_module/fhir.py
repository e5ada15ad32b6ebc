"""A lab report as a FHIR R4 document (the NRCeS profiles ABDM exchanges): a `document` Bundle
whose first entry is a DiagnosticReportRecord Composition, then the DiagnosticReportLab
DiagnosticReport carrying the stored PDF (`presentedForm`), the member as Patient, the lab as
Organization and, when `REPORT_SIGNED_BY` names one, the practitioner who signs the reports.

Built with `fhir.resources` (R4B models, R4-compatible for these resources), so the structure is
validated as it is built. Every id is a UUID derived from stable ids (`uuid5`), and every moment
is the version's upload time: the same report version gives the same document, byte for byte,
as long as the member's details and the lab's settings are unchanged.
"""

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.composition import Composition, CompositionAttester, CompositionSection
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from sqlalchemy.orm import Session

from config import get_settings
from core.clock import as_ist
from Member_module.models import Member
from Orders_module.models import Order
from Report_module.service import ReportFile, open_report

FHIR_MEDIA_TYPE = "application/fhir+json"

PROFILE = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
SERVICE_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
FACILITY_SYSTEM = "https://facility.ndhm.gov.in"
DOCTOR_SYSTEM = "https://doctor.ndhm.gov.in"
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"

DIAGNOSTIC_STUDIES_REPORT = Coding(
    system=SNOMED, code="721981007", display="Diagnostic studies report"
)
GENETIC_ANALYSIS_REPORT = Coding(system=LOINC, code="51969-4", display="Genetic analysis report")
FHIR_GENDER = {"male": "male", "female": "female", "other": "other"}


def report_document(db: Session, order: Order, item_id: int, version: int | None = None) -> bytes:
    """The FHIR document (UTF-8 JSON) of one report version, the latest unless `version`.
    Raises like the download (`ReportNotReady`, `ReportNotFound`, `ReportErased`,
    `ReportUnreadable`); neither counted nor audited: the caller does that."""
    return document_of(db, open_report(db, order, item_id, version))


def document_of(db: Session, report: ReportFile) -> bytes:
    """The FHIR document of a report already read back."""
    member = db.get(Member, report.item.member_id)
    if member is None:  # the foreign key keeps it; members are only ever marked deleted
        raise LookupError(f"member {report.item.member_id} of order item {report.item.id}")
    return _Document(report, member).bundle().model_dump_json().encode()


@dataclass(frozen=True)
class Signer:
    """The practitioner of `REPORT_SIGNED_BY` ("name|registration", the registration optional)."""

    name: str
    registration: str | None

    @classmethod
    def from_settings(cls) -> "Signer | None":
        signed_by = (get_settings().REPORT_SIGNED_BY or "").strip()
        if not signed_by:
            return None
        name, _, registration = signed_by.partition("|")
        return cls(name.strip(), registration.strip() or None)


class _Document:
    """The resources of one report version's document and the references between them."""

    def __init__(self, report: ReportFile, member: Member) -> None:
        settings = get_settings()
        self.report = report
        self.member = member
        self.signer = Signer.from_settings()
        self.api_url = settings.public_api_url
        self.hip_id = settings.ABDM_HIP_ID
        self.hip_name = settings.ABDM_HIP_NAME
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, self.api_url)
        # The version's upload is the document's moment: a request's time would make every
        # download of the same version a different document.
        self.moment: datetime = as_ist(report.report.uploaded_at)
        self.ids = self._ids()

    def _ids(self) -> dict[str, str]:
        report_id, signer = self.report.report.id, self.signer
        names = {
            "bundle": f"report/{report_id}/document",
            "composition": f"report/{report_id}/composition",
            "diagnostic_report": f"report/{report_id}/diagnostic-report",
            "patient": f"member/{self.member.id}",
            "organization": f"facility/{self.hip_id}",
            "practitioner": f"practitioner/{signer.registration or signer.name}" if signer else "",
        }
        return {key: str(uuid.uuid5(self.namespace, name)) for key, name in names.items()}

    def _ref(self, name: str) -> Reference:
        return Reference(reference=f"urn:uuid:{self.ids[name]}")

    def bundle(self) -> Bundle:
        resources: list[Resource] = [
            self.composition(),
            self.diagnostic_report(),
            self.patient(),
            self.organization(),
        ]
        if self.signer is not None:
            resources.append(self.practitioner(self.signer))
        return Bundle(
            id=self.ids["bundle"],
            meta=Meta(
                versionId=str(self.report.report.version),
                lastUpdated=self.moment,
                profile=[PROFILE + "DocumentBundle"],
                security=[Coding(system=CONFIDENTIALITY, code="V", display="very restricted")],
            ),
            identifier=Identifier(system=self.api_url, value=f"report-{self.report.report.id}"),
            type="document",
            timestamp=self.moment,
            entry=[
                BundleEntry(fullUrl=f"urn:uuid:{resource.id}", resource=resource)
                for resource in resources
            ],
        )

    def composition(self) -> Composition:
        author = "practitioner" if self.signer is not None else "organization"
        return Composition(
            id=self.ids["composition"],
            meta=Meta(profile=[PROFILE + "DiagnosticReportRecord"]),
            # The report across its versions (the bundle's identifier is this version's).
            identifier=Identifier(
                system=self.api_url, value=f"order-item-{self.report.item.id}-report"
            ),
            status="final",
            type=CodeableConcept(coding=[DIAGNOSTIC_STUDIES_REPORT], text="Diagnostic Report"),
            subject=self._ref("patient"),
            date=self.moment,
            author=[self._ref(author)],
            title="Diagnostic Report",
            attester=[CompositionAttester(mode="official", party=self._ref("organization"))],
            custodian=self._ref("organization"),
            section=[
                CompositionSection(
                    title="Diagnostic Report",
                    code=CodeableConcept(coding=[DIAGNOSTIC_STUDIES_REPORT]),
                    entry=[self._ref("diagnostic_report")],
                )
            ],
        )

    def diagnostic_report(self) -> DiagnosticReport:
        pdf = self.report.content
        return DiagnosticReport(
            id=self.ids["diagnostic_report"],
            meta=Meta(profile=[PROFILE + "DiagnosticReportLab"]),
            status="final",
            category=[
                CodeableConcept(
                    coding=[Coding(system=SERVICE_SECTION, code="LAB", display="Laboratory")]
                ),
                CodeableConcept(
                    coding=[Coding(system=SERVICE_SECTION, code="GE", display="Genetics")]
                ),
            ],
            code=CodeableConcept(
                coding=[GENETIC_ANALYSIS_REPORT],
                text=str(self.report.item.product_snapshot["name"]),
            ),
            subject=self._ref("patient"),
            issued=self.moment,
            performer=[self._ref("organization")],
            resultsInterpreter=[self._ref("practitioner")] if self.signer is not None else None,
            presentedForm=[
                Attachment(
                    contentType="application/pdf",
                    data=base64.b64encode(pdf).decode("ascii"),
                    size=len(pdf),
                    # FHIR R4's Attachment.hash is the SHA-1 of the data, base64.
                    hash=base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),
                    title=self.report.filename,
                    creation=self.moment,
                )
            ],
        )

    def patient(self) -> Patient:
        member = self.member
        identifiers = [
            Identifier(
                type=CodeableConcept(
                    coding=[
                        Coding(system=IDENTIFIER_TYPE, code="MR", display="Medical record number")
                    ]
                ),
                system=f"{self.api_url}/members",
                value=str(member.id),
            )
        ]
        # The member's ABHA, when they gave it: what lets an HIU thread this record with others.
        identifiers += [
            Identifier(type=CodeableConcept(text=kind), system=ABHA_SYSTEM, value=value)
            for kind, value in (
                ("ABHA number", member.abha_number),
                ("ABHA address", member.abha_address),
            )
            if value
        ]
        return Patient(
            id=self.ids["patient"],
            meta=Meta(profile=[PROFILE + "Patient"]),
            identifier=identifiers,
            name=[HumanName(text=member.name)],
            gender=FHIR_GENDER.get(member.gender, "unknown"),
            birthDate=member.date_of_birth,
        )

    def organization(self) -> Organization:
        return Organization(
            id=self.ids["organization"],
            meta=Meta(profile=[PROFILE + "Organization"]),
            identifier=[
                Identifier(
                    type=CodeableConcept(
                        coding=[
                            Coding(system=IDENTIFIER_TYPE, code="PRN", display="Provider number")
                        ]
                    ),
                    system=FACILITY_SYSTEM,
                    value=self.hip_id,
                )
            ],
            name=self.hip_name,
        )

    def practitioner(self, signer: Signer) -> Practitioner:
        identifiers = (
            [
                Identifier(
                    type=CodeableConcept(
                        coding=[
                            Coding(
                                system=IDENTIFIER_TYPE, code="MD", display="Medical License number"
                            )
                        ]
                    ),
                    system=DOCTOR_SYSTEM,
                    value=signer.registration,
                )
            ]
            if signer.registration
            else None
        )
        return Practitioner(
            id=self.ids["practitioner"],
            meta=Meta(profile=[PROFILE + "Practitioner"]),
            identifier=identifiers,
            name=[HumanName(text=signer.name)] if signer.name else None,
        )
