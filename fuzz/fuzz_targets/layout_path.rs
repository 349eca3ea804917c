//! written after the layout API settles
