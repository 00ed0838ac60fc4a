//! Scalars and enums as GraphQL sees them. The enums mirror `model`'s (which knows nothing
//! of GraphQL) and convert both ways.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::model;

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub model::Date);

/// A calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => model::Date::parse(s)
                .map(Date)
                .map_err(|e| InputValueError::custom(e.0)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if model::Date::parse(s).is_ok())
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// An instant in UTC, RFC 3339 (`2020-12-04T10:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub model::Timestamp);

/// An instant in UTC, RFC 3339 (`2020-12-04T10:00:00Z`).
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => model::Timestamp::parse(s)
                .map(DateTime)
                .map_err(|e| InputValueError::custom(e.0)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if model::Timestamp::parse(s).is_ok())
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// How the State under review responded to a recommendation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::Response")]
pub enum Response {
    /// The State accepted the recommendation.
    Supported,
    /// The State took note of it without accepting it.
    Noted,
    /// No response recorded yet.
    Pending,
    /// The State supported part of it and noted the rest ("supported in part", as OHCHR
    /// records some positions).
    PartiallySupported,
}

/// The five UN regional groups of Member States.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::UnRegionalGroup")]
pub enum UnRegionalGroup {
    /// The African Group.
    African,
    /// The Asia-Pacific Group.
    AsiaPacific,
    /// The Eastern European Group.
    EasternEuropean,
    /// The Latin American and Caribbean Group (GRULAC).
    LatinAmericanCaribbean,
    /// The Western European and Others Group (WEOG).
    WesternEuropeanOthers,
}

/// What kind of COVID-19 measure a State took.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::MeasureCategory")]
pub enum MeasureCategory {
    /// Health care, testing, vaccination.
    Health,
    /// Income support and social protection.
    SocialProtection,
    /// Fiscal, debt and business measures.
    Economic,
    /// Workers' rights and employment.
    Labour,
    /// Schooling and remote learning.
    Education,
    /// Evictions, shelter, rent.
    Housing,
    /// Lockdowns, curfews, travel and border controls.
    Movement,
    /// Limits on gatherings.
    Assembly,
    /// States of emergency and emergency decrees.
    EmergencyPowers,
    /// Prisons and other places of detention.
    Detention,
    /// Courts and access to justice.
    Justice,
    /// Gender-based and domestic violence.
    GenderBasedViolence,
    /// Public information and disinformation.
    Information,
    /// Contact tracing and health data.
    Privacy,
}

/// How a measure bears on a recommendation.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::LinkRelation")]
pub enum LinkRelation {
    /// The measure does what the recommendation asks.
    Implements,
    /// The measure does part of what the recommendation asks.
    PartiallyImplements,
    /// The measure concerns the same matter without implementing it.
    Related,
    /// The measure runs against the recommendation.
    Contradicts,
}

/// Where a link stands in review.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::LinkStatus")]
pub enum LinkStatus {
    /// Confirmed by a person (the default).
    Confirmed,
    /// Proposed, awaiting review.
    Suggested,
    /// Rejected by a person, so it is not suggested again.
    Rejected,
}

/// What the COVID-19 Tracker recorded an issue of concern as.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::ConcernKind")]
pub enum ConcernKind {
    /// A pattern already seen across reports.
    Trend,
    /// Harm foreseen if nothing is done.
    Risk,
    /// A warning raised before harm was widespread.
    EarlyWarning,
}

/// How grave an issue of concern is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::Severity")]
pub enum Severity {
    /// Worth watching.
    Low,
    /// Calls for action.
    Medium,
    /// Calls for action now: lives, liberty or livelihoods at stake.
    High,
}

/// The heading under which OHCHR's report files an action of UN Human Rights.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::ActionKind")]
pub enum ActionKind {
    /// Guidance, policy advice and technical support to States and others.
    GuidanceAndTechnicalSupport,
    /// Monitoring of the human rights situation and reporting on it.
    MonitoringAndReporting,
    /// Awareness raising and advocacy.
    AwarenessRaisingAndAdvocacy,
    /// UN Human Rights' own working methods adjusted to the pandemic.
    AdjustingWorkingMethods,
}
