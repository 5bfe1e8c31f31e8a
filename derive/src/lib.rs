//! Derives for hotmetrics' typed label sets (`hotmetrics::Labels`,
//! `hotmetrics::LabelValue`), so a lookup maps to a dense index instead of
//! hashing strings.
//!
//! ```
//! use hotmetrics_core::{Labels, Registry};
//! use hotmetrics_derive::{LabelValue, Labels};
//!
//! #[derive(LabelValue)]
//! #[labels(crate = "hotmetrics_core")] // only when using hotmetrics-core directly
//! enum Status {
//!     Acked,                        // "acked"
//!     #[label(rename = "nack")]
//!     Nacked,                       // "nack"
//!     NotFound,                     // "not_found"
//! }
//!
//! #[derive(Labels)]
//! #[labels(crate = "hotmetrics_core")]
//! struct Processed {
//!     handler: &'static str,        // not dense: looked up by its string
//!     status: Status,
//!     #[label(rename = "retried")]
//!     redelivered: bool,
//! }
//!
//! assert_eq!(Processed::NAMES, ["handler", "status", "retried"]);
//! assert_eq!(Processed::CARDINALITY, None);
//!
//! let registry = Registry::new();
//! let processed = registry
//!     .counter_vec(("processed_total", "Processed."), Processed::NAMES)?
//!     .typed::<Processed>()?;
//! let labels = Processed { handler: "orders", status: Status::Nacked, redelivered: true };
//! processed.with(&labels, |c| c.inc())?;
//! assert_eq!(processed.family().get_or_create(&["orders", "nack", "true"])?.get(), 1);
//! # let _ = (Status::Acked, Status::NotFound);
//! # Ok::<(), hotmetrics_core::Error>(())
//! ```
//!
//! `#[labels(crate = "...")]` names the crate the traits come from:
//! `hotmetrics` (the facade, which re-exports these derives) by default.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Path, parse_macro_input};

/// `hotmetrics::Labels` for a struct with named fields, each a
/// `LabelValue`: the field names are the label names (or
/// `#[label(rename = "...")]`), in order.
#[proc_macro_derive(Labels, attributes(label, labels))]
pub fn derive_labels(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    labels(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `hotmetrics::LabelValue` for a fieldless enum: each variant's name in
/// snake_case (or `#[label(rename = "...")]`).
#[proc_macro_derive(LabelValue, attributes(label, labels))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    label_value(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn labels(input: &DeriveInput) -> syn::Result<Tokens> {
    let krate = crate_path(&input.attrs)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            input,
            "#[derive(Labels)] needs a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            input,
            "#[derive(Labels)] needs a struct with named fields",
        ));
    };
    let mut names = Vec::new();
    let mut idents = Vec::new();
    let mut types = Vec::new();
    for field in &fields.named {
        let ident = field.ident.clone().ok_or_else(|| {
            syn::Error::new_spanned(field, "#[derive(Labels)] needs named fields")
        })?;
        let name = renamed(&field.attrs)?.unwrap_or_else(|| ident.unraw().to_string());
        names.push(name);
        idents.push(ident);
        types.push(&field.ty);
    }
    let values: Vec<_> = (0..idents.len())
        .map(|i| quote::format_ident!("value_{}", i))
        .collect();
    // self.a.with_str(|value_0| self.b.with_str(|value_1| f(&[value_0, value_1])))
    let mut nested = quote! { f(&[#(#values),*]) };
    for (ident, value) in idents.iter().zip(&values).rev() {
        nested = quote! {
            #krate::LabelValue::with_str(&self.#ident, |#value: &str| #nested)
        };
    }
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #krate::Labels for #name #ty_generics #where_clause {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            const CARDINALITY: ::core::option::Option<usize> = #krate::cardinality_product(&[
                #(<#types as #krate::LabelValue>::CARDINALITY),*
            ]);

            #[inline]
            fn index(&self) -> usize {
                let mut index = 0usize;
                #(
                    index = index
                        .wrapping_mul(<#types as #krate::LabelValue>::CARDINALITY.unwrap_or(1))
                        .wrapping_add(#krate::LabelValue::index(&self.#idents));
                )*
                index
            }

            #[inline]
            fn with_values<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
                #nested
            }
        }
    })
}

fn label_value(input: &DeriveInput) -> syn::Result<Tokens> {
    let krate = crate_path(&input.attrs)?;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            input,
            "#[derive(LabelValue)] needs a fieldless enum",
        ));
    };
    let mut variants = Vec::new();
    let mut strings = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                variant,
                "#[derive(LabelValue)] needs a fieldless enum: this variant has fields",
            ));
        }
        let string = renamed(&variant.attrs)?
            .unwrap_or_else(|| snake_case(&variant.ident.unraw().to_string()));
        variants.push(variant.ident.clone());
        strings.push(string);
    }
    if variants.is_empty() {
        return Err(syn::Error::new_spanned(
            input,
            "#[derive(LabelValue)] needs at least one variant: a label needs a value",
        ));
    }
    let count = variants.len();
    let indexes = 0..count;
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #krate::LabelValue for #name #ty_generics #where_clause {
            const CARDINALITY: ::core::option::Option<usize> = ::core::option::Option::Some(#count);

            #[inline]
            fn index(&self) -> usize {
                match self {
                    #(Self::#variants => #indexes,)*
                }
            }

            #[inline]
            fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
                f(match self {
                    #(Self::#variants => #strings,)*
                })
            }
        }
    })
}

/// `#[labels(crate = "path")]`, else `::hotmetrics`.
fn crate_path(attrs: &[Attribute]) -> syn::Result<Path> {
    let mut path: Path = syn::parse_quote!(::hotmetrics);
    for attr in attrs.iter().filter(|a| a.path().is_ident("labels")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                path = meta.value()?.parse::<LitStr>()?.parse()?;
                Ok(())
            } else {
                Err(meta.error("expected `crate = \"...\"`"))
            }
        })?;
    }
    Ok(path)
}

/// `#[label(rename = "...")]`, if given.
fn renamed(attrs: &[Attribute]) -> syn::Result<Option<String>> {
    let mut name = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("label")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                name = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else {
                Err(meta.error("expected `rename = \"...\"`"))
            }
        })?;
    }
    Ok(name)
}

/// `NotFound` -> `not_found`, `HTTPError` -> `http_error`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn variant_names_in_snake_case() {
        for (name, snake) in [
            ("Acked", "acked"),
            ("NotFound", "not_found"),
            ("HTTPError", "http_error"),
            ("Status2xx", "status2xx"),
            ("already_snake", "already_snake"),
        ] {
            assert_eq!(snake_case(name), snake);
        }
    }
}
