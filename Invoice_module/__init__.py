"""Tax invoices and credit notes: numbered when an order is paid or refunded, PDFs kept."""
