{% macro new_premium(n_new, median_new, n_preowned, median_preowned) %}
    {#-
        The new-watch premium of a group-week: median(new) / median(pre-owned) - 1
        over each segment's non-outlier listings, from the unrounded medians,
        as a ratio; null unless both segments have at least 5 of them.
    -#}
    {{ to_ratio(
        'case when ' ~ n_new ~ ' >= 5 and ' ~ n_preowned ~ ' >= 5'
        ~ ' then ' ~ median_new ~ ' / ' ~ median_preowned ~ ' - 1 end'
    ) }}
{%- endmacro %}
