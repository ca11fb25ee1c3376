//! The `--trace` file: a Chrome trace (`chrome://tracing`, Perfetto) whose
//! spans are named for what they are.
//!
//! A span's name in `tracing` is fixed where it is written (`callback`), so
//! the runtime gives the spans worth telling apart a `label` field
//! (`on_update Player`, `job enemy_ai.lua`, `parallel phase worker 1`);
//! [`LabelLayer`] keeps it with the span and [`name`] uses it as the trace
//! event's name. Log events are named after their message, not after the
//! source line that logged them.

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_chrome::EventOrSpan;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// A span's `label` field, kept in its extensions.
struct Label(String);

/// Keeps every new span's `label` field for [`name`].
pub(crate) struct LabelLayer;

impl<S> Layer<S> for LabelLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut label = FieldText::new("label");
        attrs.record(&mut label);
        if let (Some(text), Some(span)) = (label.text, ctx.span(id)) {
            span.extensions_mut().insert(Label(text));
        }
    }
}

/// The text of one field.
struct FieldText {
    field: &'static str,
    text: Option<String>,
}

impl FieldText {
    fn new(field: &'static str) -> Self {
        FieldText { field, text: None }
    }
}

impl Visit for FieldText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == self.field {
            self.text = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == self.field {
            self.text = Some(format!("{value:?}"));
        }
    }
}

/// The trace name of a span (its label, else its name) or of a log event
/// (its level and message).
pub(crate) fn name<S>(item: &EventOrSpan<'_, '_, S>) -> String
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    match item {
        EventOrSpan::Span(span) => span
            .extensions()
            .get::<Label>()
            .map_or_else(|| span.name().to_owned(), |label| label.0.clone()),
        EventOrSpan::Event(event) => event_name(event),
    }
}

fn event_name(event: &Event<'_>) -> String {
    let mut message = FieldText::new("message");
    event.record(&mut message);
    let level = event.metadata().level().as_str().to_lowercase();
    match message.text {
        Some(text) => {
            let mut short: String = text.chars().take(80).collect();
            if text.chars().nth(80).is_some() {
                short.push('…');
            }
            format!("{level}: {short}")
        }
        None => format!("{level}: {}", event.metadata().target()),
    }
}
